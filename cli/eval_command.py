"""``kgen eval``: score a trained model (run dir or export) against real data, with the real-data ceiling."""

from __future__ import annotations

import os

import click


@click.command("eval", context_settings={"max_content_width": 100})
@click.option("--run-dir", type=click.Path(),
              help="Run directory, or SavedModel version directory written by `kgen export`, to evaluate "
                   "(default: the most recent run under saved_models/).")
@click.option("--metrics", default="fid,is,kid,pr", show_default=True,
              help="Comma-separated sample metrics: fid (Fréchet distance), is (Inception Score), kid (Kernel "
                   "Inception Distance), pr (precision and recall, Kynkäänniemi et al.).")
@click.option("--n", "n", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Generated images (and real images for the ceiling).")
@click.option("--extractor", type=click.Choice(("classifier", "inception")), default="classifier", show_default=True,
              help="Feature extractor: kgen's evaluator classifier for the data (offline; `kgen evaluator fit`) or "
                   "InceptionV3 with ImageNet weights (downloaded by Keras on first use).")
@click.option("--evaluator", type=click.Path(file_okay=False),
              help="Evaluator classifier directory (default: the one saved for the data).")
@click.option("--data", help="Data spec of the real images (default: the run's training data).")
@click.option("--n-reference", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="At most this many reference images (from the data's test split).")
@click.option("--ae-n", "autoencoder_n", type=click.IntRange(min=0), default=1000, show_default=True,
              help="vae/vaegan: test images for reconstruction error, negative ELBO and the importance-weighted "
                   "NLL (0 skips them).")
@click.option("--iw-samples", type=click.IntRange(min=1), default=64, show_default=True,
              help="vae/vaegan: posterior samples K per test image for the ELBO and importance-weighted NLL.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Latent seed of the generated images; also seeds the ceiling draw and KID's subsets.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Images generated per batch.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="JSON report to write (default: <run-dir>/eval/<extractor>-n<N>-seed<S>.json; for an export, "
                   "which is never written into, eval_<name>_v<version>_<extractor>-n<N>-seed<S>.json here).")
def evaluate(run_dir, metrics, n, extractor, evaluator, data, n_reference, autoencoder_n, iw_samples, seed,
             batch_size, out):
    """Score a model: FID, IS, KID and precision/recall of generated vs real images, each beside the
    value real images get under the same protocol (the ceiling), plus reconstruction error, negative
    ELBO and importance-weighted NLL for vae and vaegan. Prints a table and writes a JSON report.

    \b
    Example:
      kgen evaluator fit --data fashion_mnist        # once per dataset
      kgen eval --run-dir saved_models/dcgan --n 10000
    """
    from kgen import runs
    from kgen.callbacks import write_json
    from kgen.evaluation.classifier import find_evaluator
    from kgen.evaluation.evaluate import evaluate as evaluate_model, format_report, parse_metrics
    from kgen.export import ExportedModel

    names = parse_metrics(metrics)
    source = run_dir or runs.latest_run()
    model = runs.load_model(source)
    data = data or runs.training_data(source, model)
    if data is None:
        raise click.UsageError(f"{source} does not record its training data: give --data.")
    if extractor == "inception":
        from kgen.evaluation.inception import InceptionExtractor

        features = InceptionExtractor()
    else:
        features = find_evaluator(data, evaluator)
    report = evaluate_model(model, data, names, n, features, n_reference, seed, batch_size, autoencoder_n,
                            iw_samples, verbose=True)
    family = model.info["model"] if isinstance(model, ExportedModel) else type(model).__name__
    report["model"] = {"source": os.path.abspath(source), "family": family, "arch": model.arch}
    click.echo(format_report(report))
    out = out or runs.report_path(source, model, runs.sample_report_name(extractor, n, seed))
    write_json(out, report)
    click.echo(f"Wrote {out}")
