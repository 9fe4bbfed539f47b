"""``kgen evaluator``: train and inspect the evaluator classifier behind kgen's classifier metrics."""

from __future__ import annotations

import click


@click.group(context_settings={"max_content_width": 100})
def evaluator():
    """The evaluator classifier: a small CNN whose features and softmax give classifier FID / KID /
    precision-recall / IS. Train one per dataset; `kgen eval` and `kgen fit` find it by the data spec."""


@evaluator.command("fit", context_settings={"max_content_width": 100})
@click.option("--data", required=True,
              help="Labelled data spec with a test split (e.g. mnist, fashion_mnist, cifar10, a directory of IDX "
                   "files, a .npz with x_train/y_train/x_test/y_test).")
@click.option("--epochs", type=click.IntRange(min=1), default=12, show_default=True, help="Training epochs.")
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True, help="Images per step.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights and shuffling.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Directory to save it in (default: saved_models/evaluators/<data>/, where kgen looks).")
def fit_evaluator(data, epochs, batch_size, seed, out):
    """Train the evaluator classifier on a labelled dataset and report its test accuracy.

    \b
    Example:
      kgen evaluator fit --data fashion_mnist
    """
    import sys

    from kgen.evaluation.classifier import train_evaluator

    directory, record = train_evaluator(data, epochs, batch_size, seed, out, verbose=1 if sys.stdout.isatty() else 2)
    click.echo(f"Test accuracy {100 * record.test_accuracy:.2f} % on {record.data} ({record.epochs} epochs).")
    click.echo(f"Saved to {directory}")


@evaluator.command("show", context_settings={"max_content_width": 100})
@click.option("--data", required=True, help="Data spec whose evaluator to show.")
@click.option("--evaluator", "directory", type=click.Path(file_okay=False), help="Evaluator directory instead.")
def show_evaluator(data, directory):
    """Print where the evaluator of a data spec is, what it was trained on and its test accuracy."""
    from kgen.evaluation.classifier import find_evaluator

    extractor = find_evaluator(data, directory)
    click.echo(f"{extractor.directory}: {extractor.describe()}; trained {extractor.record.trained}, "
               f"{extractor.record.epochs} epochs, input {tuple(extractor.record.image_shape)}")
