"""``kgen eval``: score a trained model (run dir or export) against real data, with the real-data ceiling."""

from __future__ import annotations

import os

import click

from kgen import names
from kgen.cli.common import KgenCommand, model_source, run_dir_option


@click.command("eval", cls=KgenCommand)
@run_dir_option("to evaluate")
@click.option("--metrics", default=",".join(names.METRICS), show_default=True,
              help="Comma-separated sample metrics: fid (Fréchet distance), is (Inception Score), kid (Kernel "
                   "Inception Distance), pr (precision and recall, Kynkäänniemi et al.), sharpness (Laplacian variance "
                   "of generated over real images: below 1 blurrier, above 1 noisier), classes (with the evaluator "
                   "classifier: classes generated at at least half their real share, and the class imbalance).")
@click.option("--n", "n", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Generated images, and as many real images for the ceiling (at most the training images the "
                   "evaluator never saw: 10000 for mnist and fashion_mnist).")
@click.option("--extractor", type=click.Choice(names.EXTRACTORS), default="classifier", show_default=True,
              help="Feature extractor: kgen's evaluator classifier for the data (offline; shipped for mnist and "
                   "fashion_mnist, `kgen evaluator fit` for other labelled data) or InceptionV3 with ImageNet weights "
                   "(downloaded by Keras on first use).")
@click.option("--evaluator", type=click.Path(file_okay=False),
              help="Evaluator classifier directory (default: the one the run recorded, which must still be the one "
                   "kgen has; for a run without one, the evaluator kgen ships for mnist and fashion_mnist, else the "
                   "one `kgen evaluator fit` saved).")
@click.option("--data", help="Data spec of the real images (default: the run's training data).")
@click.option("--n-reference", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="At most this many reference images (from the data's test split).")
@click.option("--ae-n", "autoencoder_n", type=click.IntRange(min=0), default=1000, show_default=True,
              help="vae/vaegan: test images for reconstruction error, negative ELBO and the importance-weighted "
                   "NLL (0 skips them).")
@click.option("--iw-samples", type=click.IntRange(min=1), default=64, show_default=True,
              help="vae/vaegan: posterior samples K per test image for the ELBO and importance-weighted NLL.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Latent seed of the generated images; also seeds the ceiling draw and the bootstrap resamples.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Images generated per batch.")
@click.option("--bootstrap", "replicates", type=click.IntRange(min=0), default=100, show_default=True,
              help="Bootstrap resamples of the images behind each metric's 95 % interval (0: no intervals).")
@click.option("--out", type=click.Path(dir_okay=False),
              help="JSON report to write (default: <run-dir>/eval/<extractor>-n<N>-seed<S>.json; for an export, "
                   "which is never written into, eval_<name>_v<version>_<extractor>-n<N>-seed<S>.json here).")
def evaluate(run_dir, metrics, n, extractor, evaluator, data, n_reference, autoencoder_n, iw_samples, seed,
             batch_size, replicates, out):
    """Score a model: FID, IS, KID and precision/recall of generated vs real images, each with its 95 %
    bootstrap interval and beside the value real images get under the same protocol (the ceiling),
    plus reconstruction error, negative ELBO and importance-weighted NLL for vae and vaegan. Prints a
    table and writes a JSON report.

    \b
    Example:
      kgen eval --run-dir saved_models/dcgan --n 10000
    """
    from kgen.evaluation.classifier import find_evaluator, recorded_evaluator
    from kgen.evaluation.protocol import evaluate as evaluate_model, parse_metrics
    from kgen.evaluation.report import format_report
    from kgen.export import ExportedModel
    from kgen.files import write_json
    from kgen.models import GenerativeModel
    from kgen.run import layout
    from kgen.run.record import RunRecord

    names = parse_metrics(metrics)
    source = model_source(run_dir)
    model = layout.load_model(source)
    data = data or layout.training_data(source, model)
    if data is None:
        raise click.UsageError(f"{source} does not record its training data: give --data.")
    if extractor == "inception":
        from kgen.evaluation.inception import InceptionExtractor

        features = InceptionExtractor()
    elif evaluator:
        features = find_evaluator(data, evaluator)
    else:  # the evaluator the run's metrics during training used
        record = RunRecord.read(source) if isinstance(model, GenerativeModel) else None
        features, note = recorded_evaluator(record.evaluator if record else None, data)
        if note:
            click.echo(f"note: {note}.", err=True)
    report = evaluate_model(model, data, names, n, features, n_reference, seed, batch_size, autoencoder_n,
                            iw_samples, verbose=True, replicates=replicates)
    family = model.info["model"] if isinstance(model, ExportedModel) else type(model).__name__
    report["model"] = {"source": os.path.abspath(source), "family": family, "arch": model.arch}
    click.echo(format_report(report))
    out = out or layout.report_path(source, model, layout.sample_report_name(extractor, n, seed))
    write_json(out, report)
    click.echo(f"Wrote {out}")
