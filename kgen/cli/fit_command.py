"""``kgen fit``: train a model and write its run directory."""

from __future__ import annotations

import click

from kgen.cli.common import KgenCommand, option, parse_classes, parse_minutes
from kgen.run.settings import (CLASS_LIST, MINUTE_LIST, MODEL_OPTION, MODEL_OPTIONS, NAME_LIST, RUN_SETTINGS, SECTIONS,
                               model_options)

LIST_READERS = {CLASS_LIST: parse_classes, MINUTE_LIST: parse_minutes,
                NAME_LIST: lambda ctx, param, value: [m.strip() for m in value.split(",") if m.strip()]}


def _click_type(setting):
    if setting.choices:
        return click.Choice(setting.choices)
    if setting.type in (int, float) and (setting.minimum is not None or setting.maximum is not None):
        kind = click.IntRange if setting.type is int else click.FloatRange
        extra = {} if setting.type is int else {"min_open": setting.open_minimum, "max_open": setting.open_maximum}
        return kind(min=setting.minimum, max=setting.maximum, **extra)
    if setting.directory:
        return click.Path(file_okay=False)
    return {int: int, float: float}.get(setting.type, str)


def setting_option(setting):
    """The ``kgen fit`` option of a run setting or model option (:mod:`kgen.run.settings`)."""
    attrs = {"help": setting.help}
    switch = "/" in setting.spelling  # --x/--no-x: a boolean with both spellings, its default shown
    if setting.type is bool and not switch:
        attrs["is_flag"] = True
    elif setting.type is not bool:
        attrs["type"] = _click_type(setting)
    if setting.text:
        attrs["callback"] = LIST_READERS[setting.text]
    if setting.default not in (None, {}):
        attrs["default"] = ",".join(setting.default) if isinstance(setting.default, list) else setting.default
        attrs["show_default"] = setting.type is not bool or switch
    elif setting.type is bool:
        attrs["default"] = None  # a yes-no model option not given stays None: the model's own default applies
    return option(setting.section, setting.spelling, setting.name, **attrs)


def setting_options(command):
    """``command`` with an option for every run setting and model option that has one, by section."""
    settings = [s for s in RUN_SETTINGS + MODEL_OPTIONS if s.option]
    for setting in reversed(sorted(settings, key=lambda s: SECTIONS.index(s.section))):
        command = setting_option(setting)(command)
    return command


@click.command(cls=KgenCommand)
@setting_options
@option("Run", "--overwrite", is_flag=True, help="Replace an existing run in --run-dir (default: refuse).")
@option("Run", "--resume", "resume", type=click.Path(exists=True, file_okay=False),
        help="Resume the run in this directory with every setting recorded in its config.json (only --epochs, "
        "--max-minutes and the monitoring and run options may be given, to train longer or watch "
        "differently).")
@click.pass_context
def fit(ctx, overwrite, resume, **settings):
    """Train a generative model and write its run directory.

    Running the same command again into an unfinished run dir resumes it from its last checkpoint (with
    a larger --epochs, a finished run trains on), and so does --resume RUN_DIR with the settings the
    run recorded; --overwrite starts over. Ctrl-C (or SIGTERM) saves a checkpoint and stops; a second
    one stops at once.

    The run dir receives model.keras, config.json (everything needed to repeat the run),
    history.json and losses.png, a sample grid per epoch in samples/ (and reconstructions of test
    images in reconstructions/ for vae and vaegan), classifier metrics per epoch in metrics.json, and
    TensorBoard logs in logs/ (`tensorboard --logdir saved_models`).

    \b
    Examples:
      kgen fit --data fashion_mnist --max-minutes 5 --run-dir saved_models/dcgan
      kgen fit --model vae --arch mlp --data mnist --epochs 20
      kgen fit --resume saved_models/dcgan --max-minutes 10
    """
    from kgen.run.config import RunConfig
    from kgen.run.layout import directory_size
    from kgen.training.fit import fit_run, resumed_config

    given = {name for name in ctx.params if ctx.get_parameter_source(name).name != "DEFAULT"}
    options = {name: settings.pop(name) for name in MODEL_OPTION}
    if resume:
        if overwrite:
            raise click.UsageError("--resume continues a run; --overwrite starts one over: give one of them.")
        config = resumed_config(resume, {name: settings[name] for name in given & set(settings)},
                                other_options=sorted(given & set(options)))
    else:
        config = RunConfig(model_options=model_options(settings["model"], options), **settings)

    result = fit_run(config, overwrite=overwrite)
    seconds = result.history["epoch_seconds"]
    click.echo(f"Trained {config.model}/{result.model.arch} for {len(seconds)} epoch(s), "
               f"{sum(seconds) / len(seconds):.1f} s per epoch.")
    if result.checkpoint_seconds:
        writes = result.checkpoint_seconds
        click.echo(f"Checkpoints:  {len(writes)} written, {sum(writes) / len(writes):.1f} s each "
                   f"({100 * sum(writes) / max(sum(seconds), 1e-9):.1f} % of the training time)")
    click.echo(f"Run dir:      {result.run_dir} ({directory_size(result.run_dir) / 1e6:.0f} MB)")
    click.echo(f"Model:        {result.run_dir}/model.keras")
    click.echo(f"Last samples: {result.grid_paths[-1]}")
