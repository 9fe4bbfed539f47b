"""``kgen sample``: draw images from a trained model."""

from __future__ import annotations

import os

import click

from kgen.cli.common import KgenCommand, model_source, run_dir_option


@click.command(cls=KgenCommand)
@click.option("--n", "n", type=int, default=64, show_default=True,
              help="Number of images to draw (≥ 1). Large n is generated in batches and streamed to --npy; "
                   "the grid shows the first 1,024.")
@run_dir_option("to sample from")
@click.option("--model", "model_file", type=click.Path(),
              help="A .keras model file to sample from instead of a run dir.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the latent vectors: same seed, same images.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="PNG grid to write (default: <run-dir>/samples/sample_n<N>_seed<S>.png; for an exported "
                   "SavedModel, which is never written into, sample_n<N>_seed<S>.png in the current directory).")
@click.option("--label", type=click.IntRange(min=0),
              help="Class to draw, for a model trained with --conditional (e.g. 3 for Fashion-MNIST's dresses). "
                   "Without it a conditional model draws N images spread evenly over its classes, one grid row "
                   "per class.")
@click.option("--npy", type=click.Path(dir_okay=False), help="Also write the images as a uint8 array (n, H, W, C).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images generated per batch.")
@click.option("--scale", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Upscaling factor of the PNG grid.")
def sample(n, run_dir, model_file, seed, label, out, npy, batch_size, scale):
    """Draw N images from a trained model into a PNG grid (√N × √N, or one row per class) and
    optionally a .npy array.

    \b
    Examples:
      kgen sample --n 64 --run-dir saved_models/dcgan --seed 1 --npy samples.npy
      kgen sample --n 64 --label 3 --run-dir saved_models/cgan
    """
    from kgen.models import GenerativeModel
    from kgen.run import layout
    from kgen.run.sample_files import write_samples

    if n < 1:
        raise click.UsageError(f"--n must be a positive number of images; got {n}.")
    if run_dir and model_file:
        raise click.UsageError("give either --run-dir or --model, not both.")
    source = model_file or model_source(run_dir)
    model = layout.load_model(source)
    default_name = f"sample_n{n}_seed{seed}" + ("" if label is None else f"_label{label}") + ".png"
    if model_file:
        out = out or os.path.join(os.path.dirname(source), layout.SAMPLES_DIR, default_name)
    elif isinstance(model, GenerativeModel):
        out = out or os.path.join(source, layout.SAMPLES_DIR, default_name)
    else:  # an exported SavedModel stays exactly as exported
        out = out or default_name

    shown = write_samples(model, n, out, seed=seed, npy_path=npy, batch_size=batch_size, scale=scale,
                          progress=n >= 4096, label=label)
    of_what = f"{n} images" + ("" if label is None else f" of class {label}")
    if label is None and model.conditional:
        of_what += f" spread over {model.num_classes} classes, one row per class"
    click.echo(f"Wrote a grid of {shown} of {of_what} from {source} (seed {seed}) to {out}")
    if npy:
        click.echo(f"Wrote uint8 array {(n,) + tuple(model.image_shape)} to {npy}")
