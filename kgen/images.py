"""Image helpers: value-range conversion to uint8, grids, and PNG writing (no plotting library)."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from kgen.files import atomic_write


def to_uint8(images, value_range=(-1.0, 1.0)):
    """Quantise float images in ``value_range`` to uint8 [0, 255] (rounding, clipping).

    Args:
        images: array ``[..., H, W, C]`` of floats.
        value_range: ``(low, high)`` of the input values.

    Returns:
        uint8 NumPy array of the same shape.

    Example:
        >>> to_uint8(np.array([-1.0, 0.0, 1.0]), (-1, 1)).tolist()
        [0, 128, 255]
    """
    return to_uint8_tensor(np.asarray(images, dtype="float32"), value_range).numpy()


def to_uint8_tensor(images, value_range=(-1.0, 1.0)):
    """:func:`to_uint8` with TensorFlow ops (graph-safe): the one quantisation kgen uses everywhere,
    in the exported SavedModels' signatures too.

    Returns:
        uint8 tensor of the same shape.
    """
    low, high = value_range
    scaled = (tf.cast(images, tf.float32) - low) * (255.0 / (high - low))
    return tf.cast(tf.clip_by_value(tf.round(scaled), 0.0, 255.0), tf.uint8)


def from_uint8(images, value_range=(-1.0, 1.0)):
    """Scale uint8 images in [0, 255] to float32 in ``value_range`` (TensorFlow ops, graph-safe).

    The data pipeline and the exported ``encode``/``reconstruct`` signatures both use it, so served
    models see pixels exactly as training did.

    Example:
        >>> from_uint8(tf.constant([0, 255], tf.uint8), (-1, 1)).numpy().tolist()
        [-1.0, 1.0]
    """
    low, high = value_range
    return tf.cast(images, tf.float32) * ((high - low) / 255.0) + low


def make_grid(images, cols=None, pad=2, pad_value=255):
    """Tile uint8 images ``[n, H, W, C]`` into one image, ``ceil(sqrt(n))`` columns by default.

    Args:
        images: uint8 array ``[n, H, W, C]`` (C = 1 or 3).
        cols: number of columns; default ``ceil(sqrt(n))``.
        pad: pixels between tiles and around the border.
        pad_value: grey level of the padding.

    Returns:
        uint8 array ``[rows·(H+pad)+pad, cols·(W+pad)+pad, C]``.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"make_grid expects a non-empty batch [n, H, W, C]; got shape {images.shape}.")
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top:top + h, left:left + w] = image
    return grid


def rows_by_class(images, labels, pad_value=255):
    """Arrange uint8 images so each class fills one row of a grid, classes in ascending order.

    Args:
        images: uint8 array ``[n, H, W, C]``.
        labels: one integer class per image.
        pad_value: grey level of the blank tiles that fill the rows of classes with fewer images.

    Returns:
        ``(tiles, cols)``: uint8 ``[rows·cols, H, W, C]`` for :func:`make_grid` with ``cols`` columns,
        ``cols`` being the largest number of images of one class.

    Example:
        >>> tiles, cols = rows_by_class(np.zeros((3, 2, 2, 1), np.uint8), [1, 0, 1])
        >>> tiles.shape, cols
        ((4, 2, 2, 1), 2)
    """
    images, labels = np.asarray(images), np.asarray(labels).reshape(-1)
    if len(images) != len(labels):
        raise ValueError(f"Expected one label per image; got {len(labels)} labels for {len(images)} images.")
    rows = [images[labels == label] for label in np.unique(labels)]
    cols = max(len(row) for row in rows)
    tiles = np.full((len(rows) * cols,) + images.shape[1:], pad_value, dtype=np.uint8)
    for r, row in enumerate(rows):
        tiles[r * cols:r * cols + len(row)] = row
    return tiles, cols


def write_png(path, image):
    """Write a uint8 image ``[H, W, C]`` (C = 1 or 3) to ``path`` atomically (temp file + rename)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"write_png expects uint8 [H, W, 1|3|4]; got {image.dtype} {image.shape}.")
    data = tf.io.encode_png(image).numpy()
    with atomic_write(path, "wb") as f:
        f.write(data)


def save_grid(path, images, value_range=(-1.0, 1.0), cols=None, scale=1):
    """Quantise, tile and write float images as one PNG grid.

    Args:
        path: output ``.png`` path.
        images: float array ``[n, H, W, C]`` in ``value_range``.
        value_range: ``(low, high)`` of ``images``.
        cols: columns of the grid (default √n).
        scale: integer upscaling factor (nearest neighbour), for small images.

    Returns:
        The uint8 grid that was written.
    """
    return write_grid(path, to_uint8(images, value_range), cols=cols, scale=scale)


def write_grid(path, images_uint8, cols=None, scale=1):
    """Tile uint8 images ``[n, H, W, C]`` (see :func:`make_grid`), upscale by ``scale``, write a PNG.

    Returns:
        The uint8 grid that was written.
    """
    grid = make_grid(images_uint8, cols=cols)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    write_png(path, grid)
    return grid
