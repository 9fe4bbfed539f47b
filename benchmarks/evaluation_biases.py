"""The evaluation biases kgen 0.3 removed, measured on trained runs: each number the way kgen 0.2 computed
it ("before") and the way kgen computes it now ("after"), on the same weights.

    .venv/bin/python benchmarks/evaluation_biases.py RUN_DIR [RUN_DIR ...] [--n 10000]

1. Standing statistics (runs with a generator average): the sample metrics of the averaged generator
   with the batch-norm statistics its model.keras holds — for a run trained by kgen 0.2, the average of
   the generator's running statistics — and with statistics measured for its own weights.
2. A matching encoder/decoder pair (VAE-GAN runs): reconstruction error, negative ELBO and
   importance-weighted NLL with the encoder and the decoder's *average* (kgen 0.2), and with the encoder
   and the decoder it trained with.
3. The ceiling's sample size: the model's FID and KID at --n and at 2·--n (kgen 0.2 scored a model at
   2·10,000 against a ceiling of 10,000: the model row then carried a smaller sample-size bias).
4. Held-out images by position: the ceiling drawn from training images 50,000–59,999 of a copy of the
   data in another order (tensorflow-datasets stores MNIST shuffled), as kgen 0.2 did for any copy with
   the data's name, against the images the evaluator never saw (by content).

Prints one JSON line per run and measurement, then a Markdown table per model family: the mean over
runs before and after, and the mean of the per-run difference (after − before, paired: the same
weights) with its 95 % Student-t interval.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from kgen.compare.statistics import mean_interval
from kgen.evaluation import autoencoder, features, protocol
from kgen.evaluation.classifier import recorded_evaluator
from kgen.evaluation.report import with_interval
from kgen.run import layout
from kgen.run.record import RunRecord


class AveragedDecoderPair:
    """An autoencoder as kgen 0.2 scored it: the encoder with the decoder's weight average."""

    def __init__(self, model):
        self.model = model
        self.image_shape, self.output_range, self.conditional = model.image_shape, model.output_range, model.conditional

    def encode(self, images, labels=None, training=False):
        return self.model.encode(images, labels, training=training)

    def decode(self, z, labels=None, training=False):
        return self.model.generate(z, labels, training=training)


def sample_metrics(model, extractor, data, n, real=None):
    """FID, IS, KID, precision and recall of ``n`` samples (no intervals: the runs give the spread)."""
    real = real or features.RealFeatures.load(extractor, data, model.image_shape[0], min(n, 10_000))
    generated = features.generated_features(model, extractor, n)
    return {k: v["value"] for k, v in protocol.score(generated, real.reference, replicates=0).items()}


def standing_statistics(model, extractor, data, n):
    """Sample metrics with the statistics saved in the file, then with statistics measured for the weights."""
    model._standing.step = int(model.training_steps())  # the statistics as saved count as current
    before = sample_metrics(model, extractor, data, n)
    model._standing.step = None
    return before, sample_metrics(model, extractor, data, n)


def autoencoder_pairing(model, data):
    keys = ("reconstruction_mse", "neg_elbo", "iw_nll")
    before = autoencoder.autoencoder_metrics(AveragedDecoderPair(model), data, n=1000)
    after = autoencoder.autoencoder_metrics(model, data, n=1000)
    return {k: before[k] for k in keys}, {k: after[k] for k in keys}


def ceiling_by_position(extractor, data, n, seed=0):
    """The ceiling's metrics with training images 50,000–59,999 of a shuffled copy of ``data`` (kgen 0.2's
    choice for a copy of that name) and with images the evaluator never saw."""
    from kgen.data.content import split_content
    from kgen.data.real_images import uint8_batches

    real = features.RealFeatures.load(extractor, data, extractor.image_shape[0], n)
    train = split_content(data, "train")
    order = np.random.default_rng(seed).permutation(len(train))  # a copy in another order
    by_position = np.sort(order[extractor.record.train_examples:][:n])  # what positions 50,000+ hold in that copy
    seen = int(np.sum(~extractor.unseen(data, train)[0][by_position]))
    images = np.concatenate([b.numpy() for b in uint8_batches(data, "train", extractor.image_shape[0],
                                                              indices=by_position)])
    old = features.FeatureSet(*extractor(images), "positions 50,000+ of a shuffled copy")
    score = {k: v["value"] for k, v in protocol.score(old, real.reference, replicates=0).items()}
    fair = {k: v["value"] for k, v in protocol.score(real.ceiling, real.reference, replicates=0).items()}
    return score, fair, seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+")
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    results = {}

    def record(what, run_dir, before, after):
        print(json.dumps({"measurement": what, "run": run_dir, "before": before, "after": after}), flush=True)
        for key in before:
            results.setdefault((type(model).__name__, what, key), []).append((before[key], after[key]))

    for run_dir in args.run_dirs:
        model = layout.load_model(run_dir)
        data = RunRecord.read(run_dir).kgen_run["data"]
        extractor, _ = recorded_evaluator(RunRecord.read(run_dir).evaluator, data)
        if model.generator_average is not None:
            record("standing statistics", run_dir, *standing_statistics(model, extractor, data, args.n))
        if model.has_encoder and model.generator_average is not None:
            record("encoder/decoder pairing", run_dir, *autoencoder_pairing(model, data))
        at_n = sample_metrics(model, extractor, data, args.n)
        at_2n = sample_metrics(model, extractor, data, 2 * args.n)
        record("model row at 2·n (before) and n (after), against a ceiling of n", run_dir,
               {k: at_2n[k] for k in ("fid", "kid")}, {k: at_n[k] for k in ("fid", "kid")})
    position, fair, seen = ceiling_by_position(extractor, data, args.n)
    print(json.dumps({"measurement": "ceiling by position", "seen_by_the_evaluator": seen, "before": position,
                      "after": fair}))
    print(f"\n(ceiling by position: {seen} of the {args.n} images were seen by the evaluator; before {position}, "
          f"after {fair})\n")
    print("| model | measurement | metric | before | after | after − before [95 % interval] | runs |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for (family, what, key), pairs in results.items():
        before, after = (mean_interval(values).mean for values in zip(*pairs))
        change = mean_interval([a - b for b, a in pairs])
        difference = with_interval(change.mean, change.interval)
        print(f"| {family} | {what} | {key} | {before:.4g} | {after:.4g} | {difference} | {len(pairs)} |")


if __name__ == "__main__":
    main()
