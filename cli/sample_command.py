"""``kgen sample``: draw images from a trained model."""

from __future__ import annotations

import os

import click


@click.command(context_settings={"max_content_width": 100})
@click.option("--n", "n", type=int, default=64, show_default=True,
              help="Number of images to draw (≥ 1). Large n is generated in batches and streamed to --npy; "
                   "the grid shows the first 1,024.")
@click.option("--run-dir", type=click.Path(),
              help="Run directory, or SavedModel version directory written by `kgen export`, to sample from "
                   "(default: the most recent run under saved_models/).")
@click.option("--model", "model_file", type=click.Path(), help="A .keras model file to sample from instead of a run dir.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent vectors: same seed, same images.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="PNG grid to write (default: <run-dir>/samples/sample_n<N>_seed<S>.png; for an exported "
                   "SavedModel, which is never written into, sample_n<N>_seed<S>.png in the current directory).")
@click.option("--npy", type=click.Path(dir_okay=False), help="Also write the images as a uint8 array (n, H, W, C).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Images generated per batch.")
@click.option("--scale", type=click.IntRange(1, 16), default=2, show_default=True, help="Upscaling factor of the PNG grid.")
def sample(n, run_dir, model_file, seed, out, npy, batch_size, scale):
    """Draw N images from a trained model into a PNG grid (√N × √N) and optionally a .npy array.

    \b
    Example:
      kgen sample --n 64 --run-dir saved_models/dcgan --seed 1 --npy samples.npy
    """
    from kgen import runs
    from kgen.models import GenerativeModel
    from kgen.sampling import write_samples

    if n < 1:
        raise click.UsageError(f"--n must be a positive number of images; got {n}.")
    if run_dir and model_file:
        raise click.UsageError("give either --run-dir or --model, not both.")
    source = model_file or run_dir or runs.latest_run()
    model = runs.load_model(source)
    default_name = f"sample_n{n}_seed{seed}.png"
    if model_file:
        out = out or os.path.join(os.path.dirname(source), runs.SAMPLES_DIR, default_name)
    elif isinstance(model, GenerativeModel):
        out = out or os.path.join(source, runs.SAMPLES_DIR, default_name)
    else:  # an exported SavedModel stays exactly as exported
        out = out or default_name

    shown = write_samples(model, n, out, seed=seed, npy_path=npy, batch_size=batch_size, scale=scale,
                          progress=n >= 4096)
    click.echo(f"Wrote a grid of {shown} of {n} images from {source} (seed {seed}) to {out}")
    if npy:
        click.echo(f"Wrote uint8 array {(n,) + tuple(model.image_shape)} to {npy}")
