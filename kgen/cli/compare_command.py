"""``kgen compare``: train, evaluate and compare several models on the same data, with a report."""

from __future__ import annotations

import click

from kgen.cli.common import KgenCommand, parse_classes, parse_minutes
from kgen.compare import DEFAULT_MODELS
from kgen.compare.presets import PRESETS


@click.command(cls=KgenCommand)
@click.option("--data", default="fashion_mnist", show_default=True,
              help="Data spec shared by every run (see kgen fit); with --preset, the preset's unless given.")
@click.option("--models", default=DEFAULT_MODELS, show_default=True,
              help="Comma-separated [c]model[:arch[:loss]][@setting=value;…] entries to compare, e.g. "
                   "gan:dcgan,vae:dcgan,vaegan, or vae:dcgan@latent_dim=2,vae:dcgan@latent_dim=16 (settings as in "
                   "config.json, and kgen fit's model options by name: vaegan:dcgan@gamma=0.1;beta=2; a value may hold "
                   "commas: gan@augment=translation,cutout,vae is two entries), or "
                   "gan:dcgan,gan:dcgan:wgan-gp,gan:dcgan:hinge (a GAN's loss: non-saturating, minimax, "
                   "least-squares, hinge, wgan-gp with 5 critic steps). A c before the model name gives its "
                   "class-conditional version (cgan:dcgan, cvae:dcgan, cvaegan; see kgen fit --conditional).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)),
              help="A reference paper's experiment instead of --models: its data, models, epochs, batch size and "
                   "budget, each replaced by the option when you give it (docs/reproductions.md). "
                   + "; ".join(f"{k} ({p.author}): {p.description} [{p.summary()}]" for k, p in PRESETS.items()) + ".")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Epochs of every run (with --budget-minutes: the most a run may take).")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Seeds per model (0, 1, …); tables give the mean over them with its 95 % interval, and a "
                   "winner only where Welch's t-test over them says the lead is real (at least 2 seeds; 3 by "
                   "default).")
@click.option("--study-dir", required=True, type=click.Path(file_okay=False),
              help="Study directory, e.g. saved_models/studies/NAME. Re-running the same command there continues "
                   "the study: finished runs are not retrained, finished evaluations not redone.")
@click.option("--budget-minutes", type=click.FloatRange(min=0, min_open=True),
              help="Match wall-clock time instead of epochs: each run trains for this many minutes.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True,
              help="Batch size of every run.")
@click.option("--eval-n", type=click.IntRange(min=2), default=10_000, show_default=True,
              help="Generated images per evaluation (and real images for the ceiling).")
@click.pass_context
@click.option("--limit", type=click.IntRange(min=1),
              help="Train every run on the first N training examples only (quick studies; evaluation is unchanged).")
@click.option("--validate/--no-validate", default=True, show_default=True,
              help="Compute the losses on the test split after each epoch of each run.")
@click.option("--metrics-at", "metrics_at", callback=parse_minutes,
              help="Time to quality: also score every run after these minutes of training (comma-separated, e.g. "
                   "1,2,5,10; with --budget-minutes); the report draws each metric against training minutes.")
@click.option("--metrics-n", type=click.IntRange(min=2),
              help="Generated images per evaluation during training (default 2000, as kgen fit).")
@click.option("--metrics-every", type=click.IntRange(min=0),
              help="Epochs between evaluations during training (default 1, as kgen fit; 0: only at --metrics-at).")
@click.option("--anomaly-class", "anomaly_classes", callback=parse_classes,
              help="Anomaly-detection study: train every run without these classes (comma-separated) and report "
                   "the ROC AUC of detecting them in the test split.")
def compare(ctx, data, models, preset, epochs, seeds, study_dir, budget_minutes, batch_size, eval_n, limit,
            validate, metrics_at, metrics_n, metrics_every, anomaly_classes):
    """Train every model × seed on the same data with matched settings, evaluate each with the same
    protocol (classifier metrics; Inception metrics when its weights are available), and write
    report.md and report.html with tables and figures into the study dir.

    Sample metrics need the data's evaluator classifier (shipped for mnist and fashion_mnist; `kgen
    evaluator fit --data SPEC` for other labelled data) or InceptionV3's weights; without either the
    study still trains and reports losses, reconstruction and likelihood, and samples.

    \b
    Example:
      kgen compare --data fashion_mnist --models gan:dcgan,vae:dcgan,vaegan --epochs 3 --seeds 2 \\
          --study-dir saved_models/studies/fmnist
    """
    from kgen.compare.report import write_report
    from kgen.compare.study import StudyPlan, preset_plan, run_study

    if preset and ctx.get_parameter_source("models").name != "DEFAULT":
        raise click.UsageError("give either --preset or --models, not both.")
    given = {key: value for key, value in (("data", data), ("epochs", epochs), ("batch_size", batch_size),
                                           ("budget_minutes", budget_minutes))
             if not preset or ctx.get_parameter_source(key).name != "DEFAULT"}
    data = given.get("data", PRESETS[preset].data if preset else data)
    normal_classes = None
    if anomaly_classes:
        from kgen.evaluation.classifier import find_evaluator

        num_classes = find_evaluator(data).record.num_classes
        normal_classes = [c for c in range(num_classes) if c not in anomaly_classes]
    settings = dict({"limit": limit} if limit else {}, **({} if validate else {"validate": False}),
                    **({"metrics_at": metrics_at} if metrics_at else {}),
                    **({"metrics_n": metrics_n} if metrics_n else {}),
                    **({"metrics_every": metrics_every} if metrics_every is not None else {}))
    if preset:
        plan = preset_plan(preset, seeds=seeds, eval_n=eval_n, normal_classes=normal_classes, **given, **settings)
        click.echo(f"Preset {preset}: {PRESETS[preset].summary()}"
                   + "".join(f"; --{key.replace('_', '-')} {value} as given" for key, value in given.items()))
    else:
        plan = StudyPlan(models=models.split(","), seeds=seeds, eval_n=eval_n, normal_classes=normal_classes,
                         settings=settings, **given)
    from kgen.run.locks import directory_lock

    notes = []
    with directory_lock(study_dir, "runs a study in"):  # the study and its report: one writer
        run_list = run_study(plan, study_dir, echo=click.echo, notes=notes)
        click.echo("Writing the report…")
        path = write_report(plan, study_dir, run_list, notes=notes)
    click.echo(f"Report: {path} (and report.html, report.json)")
