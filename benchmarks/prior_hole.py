"""Do an autoencoding model's samples suffer from codes that stray from the prior? On trained VAE or VAE-GAN
runs, the sample metrics of images decoded from the prior N(0, I) (what `kgen eval` scores) against images
decoded, by the same network, from codes its encoder gives training images (z ~ q(z|x)), and how far those codes
are from the prior.

    .venv/bin/python benchmarks/prior_hole.py RUN_DIR [RUN_DIR ...] [--n 5000]

If the decoder makes much better images from the encoder's codes than from prior draws, the samples' quality is
lost between the two distributions (a KL weight or a prior matched to the codes would help); if both are alike,
the decoder itself is what limits the samples. Decoded codes of training images are close to reconstructions, not
new images; new ones are drawn from Gaussian mixtures of ``--mixture`` components fitted to the codes (an ex-post
density estimate of the codes, as Ghosh et al. 2020 propose for autoencoders; scikit-learn).

Each run is decoded twice: by the decoder's weight average (what sampling uses; its batch-norm statistics are
measured on prior draws) and by the decoder that trained with the encoder (its running statistics). The codes
are described by their mean squared norm per dimension (1 for the prior) and the KL of a Gaussian fitted to
all of them (the aggregate posterior's mismatch with N(0, I), in nats).

Prints one JSON line per run, then a Markdown table per model family: the mean over its runs of each metric with
its 95 % Student-t interval, and of the paired differences from the prior's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from kgen.compare.statistics import mean_interval
from kgen.evaluation import features, protocol
from kgen.evaluation.classifier import recorded_evaluator
from kgen.evaluation.report import with_interval
from kgen.images import to_uint8
from kgen.run import layout
from kgen.run.record import RunRecord
from kgen.training.prior import posterior_codes

METRICS = ("fid", "is", "precision", "recall")


def gaussian_kl_to_standard(codes):
    """KL(N(m, S) ‖ N(0, I)) in nats of the Gaussian N(m, S) fitted to ``codes`` ``[n, d]``."""
    mean, cov = codes.mean(axis=0), np.cov(codes, rowvar=False)
    _, logdet = np.linalg.slogdet(cov)
    return 0.5 * float(np.trace(cov) + mean @ mean - codes.shape[1] - logdet)


def decoded_metrics(model, network, codes, extractor, reference, what):
    """The sample metrics of ``codes`` decoded by ``network`` (in inference mode)."""
    batches = (to_uint8(np.asarray(network(codes[i:i + 500], training=False)), model.output_range)
               for i in range(0, len(codes), 500))
    images = np.concatenate(list(batches))
    generated = features.FeatureSet(*extractor(images), what)
    return {k: v["value"] for k, v in protocol.score(generated, reference, replicates=0).items() if k in METRICS}


def main():
    from sklearn.mixture import GaussianMixture  # a development dependency, as this script

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--n", type=int, default=5000, help="images per set (default 5000)")
    parser.add_argument("--mixture", type=lambda text: [int(k) for k in text.split(",") if k], default=[10],
                        help="components of the Gaussian mixtures fitted to the codes, comma-separated (default 10)")
    args = parser.parse_args()
    families = {}
    for run_dir in args.run_dirs:
        model = layout.load_model(run_dir)
        record = RunRecord.read(run_dir)
        data = record.kgen_run["data"]
        extractor, _ = recorded_evaluator(record.evaluator, data)
        reference = features.RealFeatures.load(extractor, data, model.image_shape[0], args.n).reference
        codes = posterior_codes(model, data, args.n)
        latents = {"prior": np.random.default_rng(1).standard_normal(codes.shape).astype("float32"),
                   "codes": codes}
        for k in args.mixture:
            mixture = GaussianMixture(k, covariance_type="full", random_state=0).fit(codes)
            latents[f"mixture{k}"] = mixture.sample(len(codes))[0].astype("float32")
        model.refresh_average_statistics()
        result = {"run": run_dir, "code_square_norm_per_dim": float(np.mean(codes ** 2)),
                  "aggregate_kl_nats": gaussian_kl_to_standard(codes)}
        decoders = {"average": model.generator_average, "own": model.decoder}  # a VAE keeps no average
        for name, network in decoders.items():
            if network is None:
                continue
            for source, z in latents.items():
                result[f"{name}/{source}"] = decoded_metrics(model, network, z, extractor, reference, source)
        print(json.dumps(result), flush=True)
        rows = families.setdefault(type(model).__name__, {})
        for key, value in result.items():
            if isinstance(value, dict):
                for metric, v in value.items():
                    rows.setdefault((key, metric), []).append(v)
            elif key != "run":
                rows.setdefault((key, ""), []).append(value)
    for family, rows in families.items():
        print_table(family, rows)


def print_table(family, rows):
    """One family's Markdown table: each metric's mean over runs, and the paired differences from the prior."""
    print(f"\n{family}\n\n| decoder/latents | metric | mean [95 % interval] | runs |\n| --- | --- | --- | --- |")
    for (key, metric), values in rows.items():
        found = mean_interval(values)
        print(f"| {key} | {metric} | {with_interval(found.mean, found.interval)} | {len(values)} |")
    for key, metric in list(rows):
        decoder, _, source = key.partition("/")
        if source and source != "prior":
            found = mean_interval(np.subtract(rows[(key, metric)], rows[(f"{decoder}/prior", metric)]))
            print(f"| {decoder}: {source} − prior | {metric} | {with_interval(found.mean, found.interval)} "
                  f"| {len(rows[(key, metric)])} |")


if __name__ == "__main__":
    main()
