"""The ``kgen`` command line: thin click wrappers over kgen's library calls.

Every command turns kgen's exceptions into a one-line ``Error: …`` and a non-zero exit status.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported by a command

from kgen import __version__  # noqa: E402  (in the kgen command, this imports no TensorFlow)
from kgen.cli.common import CONTEXT  # noqa: E402

EXIT_INTERRUPTED = 130


class KgenGroup(click.Group):
    """A click group whose errors, usage errors included, are one line: ``Error: …``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except (click.Abort, KeyboardInterrupt) as e:
            # kgen's own interruptions (kgen.training.loop.TrainingInterrupted) say what was saved and how to resume;
            # click turns a KeyboardInterrupt into an Abort (after printing a newline) and keeps it as the cause
            cause = e.__cause__ if isinstance(e, click.Abort) else e
            click.echo(str(cause) if isinstance(cause, KeyboardInterrupt) and str(cause) else "Error: interrupted.",
                       err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except (ValueError, OSError) as e:
            raise click.ClickException(_one_line(e)) from None
        except Exception as e:  # an unexpected failure still gets one line; the traceback on request
            if os.environ.get("KGEN_DEBUG"):
                traceback.print_exc()
            raise click.ClickException(
                f"unexpected {type(e).__name__}: {_one_line(e)} (set KGEN_DEBUG=1 to see the traceback)"
            ) from None


def _one_line(error):
    text = " ".join(str(error).split())
    return text or type(error).__name__


@click.group(cls=KgenGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="kgen")
def cli():
    """kgen: train, sample and compare deep generative image models (GAN, VAE, VAE-GAN).

    \b
    Typical use:
      kgen fit --data fashion_mnist --max-minutes 5
      kgen sample --n 64
      kgen eval
      tensorboard --logdir saved_models
    """


from kgen.cli import (anomaly_command, bench_command, compare_command, eval_command, evaluator_command,  # noqa: E402
                      export_command, fit_command, sample_command)

cli.add_command(fit_command.fit)
cli.add_command(sample_command.sample)
cli.add_command(export_command.export)
cli.add_command(eval_command.evaluate)
cli.add_command(evaluator_command.evaluator)
cli.add_command(compare_command.compare)
cli.add_command(anomaly_command.anomaly)
cli.add_command(bench_command.bench)


def main():
    """Console-script entry point (``kgen``)."""
    cli.main(prog_name="kgen")


if __name__ == "__main__":  # python -m kgen.cli.main
    main()
