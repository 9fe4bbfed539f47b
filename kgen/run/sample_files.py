"""Drawing many samples from a model to files: a PNG grid and, streamed, a uint8 ``.npy`` array."""

from __future__ import annotations

import contextlib

import numpy as np

from kgen import images
from kgen.files import atomic_path

MAX_GRID = 1024  # a PNG grid shows at most this many images; the .npy array holds all of them


def write_samples(model, n, grid_path, seed=0, npy_path=None, batch_size=256, scale=2, progress=False, label=None):
    """Generate ``n`` images and write a PNG grid of (up to ``MAX_GRID`` of) them.

    Images are generated in batches; with ``npy_path`` each batch is written into a memory-mapped
    uint8 array ``(n, H, W, C)`` as it comes, so memory does not grow with ``n``. Files appear only
    when complete (temporary name, then rename).

    A class-conditional model draws ``n`` images of class ``label``, or without one ``n`` images spread
    evenly over its classes (:func:`kgen.models.sampling.spread_labels`, in class order), shown one row
    per class (at most ``MAX_GRID // num_classes`` images of each).

    Args:
        model: a kgen model or :class:`kgen.export.ExportedModel`.
        n: number of images (≥ 1).
        grid_path: PNG output path.
        seed: latent seed; the same seed gives the same images.
        npy_path: optional ``.npy`` output of all images as uint8.
        batch_size: images generated per batch.
        scale: integer upscaling of the grid.
        progress: show a Keras progress bar.
        label: class to draw, for a class-conditional model.

    Returns:
        The number of images in the grid.

    Example:
        >>> write_samples(kgen.load_model("saved_models/dcgan"), 64, "grid.png", seed=1)  # doctest: +SKIP
        64
    """
    if int(n) < 1:
        raise ValueError(f"The number of samples must be a positive integer; got {n}.")
    with atomic_path(npy_path, suffix=".npy") if npy_path else contextlib.nullcontext() as tmp_npy:
        array = None if tmp_npy is None else np.lib.format.open_memmap(
            tmp_npy, mode="w+", dtype=np.uint8, shape=(n,) + tuple(model.image_shape))
        shown = _write(model, n, grid_path, array, seed, batch_size, scale, progress, label)
        if array is not None:
            array.flush()
            del array
    return shown


def _write(model, n, grid_path, array, seed, batch_size, scale, progress, label):
    """Generate the images into ``array`` (a memory map, or ``None``) and the grid; the number shown."""
    bar = None
    if progress:
        import keras

        bar = keras.utils.Progbar(n, unit_name="image")
    labels = model.sample_labels(n, label)
    by_class = labels is not None and label is None
    # Which images the grid shows: the first MAX_GRID, or the first MAX_GRID // classes of each class.
    shown = np.arange(n) < MAX_GRID
    if by_class:
        first_of_class = np.searchsorted(labels, labels)  # labels are sorted
        shown = np.arange(n) - first_of_class < MAX_GRID // model.num_classes
    grid_images, done = [], 0
    for batch in model.sample_batches(n, seed=seed, batch_size=batch_size, labels=labels):
        batch = images.to_uint8(batch, model.output_range)
        if array is not None:
            array[done:done + len(batch)] = batch
        grid_images.append(batch[shown[done:done + len(batch)]])
        done += len(batch)
        if bar:
            bar.update(done)
    grid_images = np.concatenate(grid_images)
    if by_class:
        images.write_grid(grid_path, *images.rows_by_class(grid_images, labels[shown]), scale=scale)
    else:
        images.write_grid(grid_path, grid_images, scale=scale)
    return int(shown.sum())
