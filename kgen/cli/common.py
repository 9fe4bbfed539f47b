"""What every ``kgen`` command shares: TensorFlow imported only once the arguments are parsed, and the
options several commands take (defined once here)."""

from __future__ import annotations

import os
import sys

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def import_tensorflow_quietly():
    """Import TensorFlow with the native log lines of its start-up (oneDNN, CUDA probing) hidden.

    TF_CPP_MIN_LOG_LEVEL does not reach the lines TensorFlow's C++ core prints before its logging is
    initialised, so the process's stderr is pointed at /dev/null while TensorFlow loads and looks
    for devices. Python-level errors are unaffected: they are raised after stderr is restored.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(null, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
        # TensorFlow's Python warnings (e.g. about retracing one sampling function per model) are for
        # developers; the CLI's errors say what users need.
        tf.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


class Option(click.Option):
    """A click option that belongs to a section of its command's ``--help`` (e.g. "Data", "Model")."""

    def __init__(self, *args, section=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.section = section


def option(section, *param_decls, **attrs):
    """``@click.option(*param_decls, **attrs)`` for an option of ``section`` (see :class:`Option`)."""
    return click.option(*param_decls, cls=Option, section=section, **attrs)


class KgenCommand(click.Command):
    """A command that imports TensorFlow when it runs, after click has parsed (and checked) its
    options: ``--help`` and option errors answer without loading TensorFlow. Its ``--help`` lists the
    options by section (:class:`Option`), in the order the sections first appear."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx):
        import_tensorflow_quietly()
        return super().invoke(ctx)

    def format_options(self, ctx, formatter):
        sections = {}
        params = self.get_params(ctx)
        # Options without a section are "Options" in a command that has no sections, else "Other options".
        unsectioned = "Other options" if any(getattr(p, "section", None) for p in params) else "Options"
        for param in params:
            record = param.get_help_record(ctx)
            if record:
                sections.setdefault(getattr(param, "section", None) or unsectioned, []).append(record)
        for name, rows in sections.items():
            with formatter.section(name):
                formatter.write_dl(rows)


class KgenSubgroup(click.Group):
    """A group of commands below ``kgen`` (e.g. ``kgen evaluator``) whose commands are :class:`KgenCommand`."""

    command_class = KgenCommand

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)


def run_dir_option(what):
    """The ``--run-dir`` option of the commands that use a trained model: ``what`` says what they do with
    it (e.g. ``"to evaluate"``). Without it, :func:`model_source` picks the most recent run."""
    return click.option("--run-dir", type=click.Path(),
                        help=f"Run directory, .keras file or SavedModel version directory written by `kgen export`, "
                             f"{what} (default: the most recent run under saved_models/).")


def model_source(run_dir):
    """``--run-dir`` as given, or the most recent run under ``saved_models/``.

    Raises:
        kgen.run.layout.RunError: there is no run.
    """
    from kgen.run import layout

    return run_dir or layout.latest_run()


def comma_separated(convert, what, example, positive=False):
    """A click callback that reads ``"a,b,c"`` as the sorted list of its distinct numbers (``None`` stays
    ``None``), e.g. class numbers (``int``) or minutes (``float``, ``positive``)."""

    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            values = sorted({convert(v) for v in value.split(",") if v.strip()})
        except ValueError:
            raise click.BadParameter(f"expected comma-separated {what} such as {example}; got {value!r}.") from None
        if not values:
            raise click.BadParameter(f"expected at least one of the {what}.")
        if positive and values[0] <= 0:
            raise click.BadParameter(f"expected positive {what}; got {value!r}.")
        return values

    return callback


parse_classes = comma_separated(int, "class numbers", "0,2,5")
parse_minutes = comma_separated(float, "minutes", "1,2,5,10", positive=True)
