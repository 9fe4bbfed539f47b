"""``kgen evaluator``: train and inspect the evaluator classifier behind kgen's classifier metrics."""

from __future__ import annotations

import click

from kgen.cli.common import KgenSubgroup


@click.group(cls=KgenSubgroup)
def evaluator():
    """The evaluator classifier: a small CNN whose features and softmax give classifier FID / KID /
    precision-recall / IS. Train one per dataset; `kgen eval` and `kgen fit` find it by the data spec."""


@evaluator.command("fit")
@click.option("--data", required=True,
              help="Labelled data spec with a test split (e.g. mnist, fashion_mnist, cifar10, a directory of IDX "
                   "files, a .npz with x_train/y_train/x_test/y_test).")
@click.option("--epochs", type=click.IntRange(min=1), default=12, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True, help="Images per step.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, shuffling and augmentation.")
@click.option("--held-out", type=click.IntRange(min=0),
              help="Training images left out at the end of the training split, never seen by the evaluator; the "
                   "real-data ceiling is scored on them (default: a sixth of the training images, at most 10,000).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Directory to save it in (default: saved_models/evaluators/<data>/).")
def fit_evaluator(data, epochs, batch_size, seed, held_out, out):
    """Train the evaluator classifier on a labelled dataset, deterministically (the same command on the
    same machine gives the same weights), and report its test accuracy and the sha256 that names it.

    kgen ships the evaluators of mnist and fashion_mnist and uses them by default, so that every
    machine reports the same numbers; one trained here for those is used only with --evaluator DIR.

    \b
    Example:
      kgen evaluator fit --data cifar10
    """
    import sys

    from kgen.evaluation.classifier import SHIPPED_DATA, train_evaluator

    directory, record = train_evaluator(data, epochs, batch_size, seed, out, verbose=1 if sys.stdout.isatty() else 2,
                                        held_out=held_out)
    click.echo(f"Test accuracy {100 * record.test_accuracy:.2f} % on {record.data} ({record.epochs} epochs, "
               f"{record.train_examples} training images; {record.held_out} held out for the ceiling).")
    click.echo(f"Saved to {directory} (sha256:{record.sha256[:12]}).")
    if str(data) in SHIPPED_DATA and not out:
        click.echo(f"note: kgen ships an evaluator for {data} and uses it by default; use this one with "
                   f"--evaluator {directory}.")


@evaluator.command("show")
@click.option("--data", required=True, help="Data spec whose evaluator to show.")
@click.option("--evaluator", "directory", type=click.Path(file_okay=False), help="Evaluator directory instead.")
def show_evaluator(data, directory):
    """Print which evaluator scores a data spec (by hash), what it was trained on and its test accuracy."""
    from kgen.evaluation.classifier import find_evaluator

    extractor = find_evaluator(data, directory)
    record = extractor.record
    click.echo(f"{extractor.directory}: {extractor.describe()}")
    click.echo(f"trained {record.trained} with `{record.command}` ({record.software}); input "
               f"{tuple(record.image_shape)}; training images 0–{record.train_examples - 1}, held out "
               f"{record.train_examples}–{record.train_examples + record.held_out - 1}")
