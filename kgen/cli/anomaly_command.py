"""``kgen anomaly``: anomaly detection with a model trained on the normal classes, scored by ROC AUC."""

from __future__ import annotations

import click

from kgen.cli.common import KgenCommand, model_source, parse_classes, run_dir_option


@click.command(cls=KgenCommand)
@run_dir_option("of a model trained on the normal classes only (`kgen fit --classes …`)")
@click.option("--data", help="Labelled data spec whose test split is scored (default: the run's training data).")
@click.option("--normal-classes", callback=parse_classes, required=True,
              help="Comma-separated labels that count as normal; every other class is an anomaly.")
@click.option("--n", "n", type=click.IntRange(min=2), default=10_000, show_default=True, help="Test images to score.")
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="vae/vaegan: posterior samples per image for the negative ELBO score.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="JSON report (default: <run-dir>/eval/anomaly-normal<classes>.json; for an export, which is "
                   "never written into, eval_<name>_v<version>_anomaly-normal<classes>.json here).")
def anomaly(run_dir, data, normal_classes, n, samples, out):
    """Score test images by how badly a model explains them — VAE reconstruction error and negative
    ELBO, and the GAN / VAE-GAN discriminator — and report how well each score separates the
    anomalous classes from the normal ones (ROC AUC; 0.5 is chance).

    \b
    Example (class 7, sneakers, held out):
      kgen fit --model vae --arch conv --classes 0,1,2,3,4,5,6,8,9 --run-dir saved_models/no-sneakers
      kgen anomaly --run-dir saved_models/no-sneakers --normal-classes 0,1,2,3,4,5,6,8,9
    """
    from kgen.evaluation.anomaly import detect_anomalies
    from kgen.files import write_json
    from kgen.run import layout

    source = model_source(run_dir)
    model = layout.load_model(source)
    data = data or layout.training_data(source, model)
    if data is None:
        raise click.UsageError(f"{source} does not record its training data: give --data.")
    report = detect_anomalies(model, data, normal_classes, n, samples)
    click.echo(f"normal classes {report['normal_classes']}: {report['n_normal']} test images; "
               f"anomalous: {report['n_anomalous']}")
    for name, value in report["auc"].items():
        click.echo(f"ROC AUC of {name:<22} {value:.4f}")
    out = out or layout.report_path(source, model, layout.anomaly_report_name(report["normal_classes"]))
    write_json(out, report)
    click.echo(f"Wrote {out}")
