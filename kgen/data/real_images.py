"""Real images as the evaluation reads them: uint8 batches of one split (resized, shifted when asked),
which split holds images no model trained on, and a few held-out images for pictures."""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from kgen.data.errors import NoSplitError
from kgen.data.pipeline import load_dataset
from kgen.images import to_uint8_tensor


def uint8_batches(spec, split, image_size, batch_size=500, shuffle=False, seed=0, limit=None, translate=0.0,
                  labels=False, skip=0, indices=None, classes=None):
    """Yield the uint8 image batches ``[b, H, W, C]`` of one split of a data spec (resized to ``image_size``,
    randomly shifted by up to ``translate`` of the size when asked, as in training); with ``labels``,
    ``(images, labels)`` pairs. ``skip`` and ``limit`` select examples ``skip`` to ``skip + limit``;
    ``indices`` (sorted positions in the split, without ``shuffle``) keeps only those examples; ``classes``, as
    training's ``--classes``, only the examples of those classes."""
    if indices is not None and shuffle:
        raise ValueError("indices select positions of the split in its order: they need shuffle=False.")
    dataset, info = load_dataset(spec, batch_size, (0.0, 255.0), image_size, split, seed, shuffle=shuffle,
                                 limit=limit, drop_remainder=False, translate=translate, labels=labels, skip=skip,
                                 classes=classes)
    wanted = None if indices is None else np.isin(np.arange(info.num_examples), indices)
    position = 0
    for batch in dataset:
        images = to_uint8_tensor(batch[0] if labels else batch, (0.0, 255.0))
        batch_labels = batch[1] if labels else None
        if wanted is not None:
            keep = wanted[position:position + int(images.shape[0])]
            position += int(images.shape[0])
            if not keep.any():
                continue
            images = tf.boolean_mask(images, keep)
            batch_labels = None if batch_labels is None else tf.boolean_mask(batch_labels, keep)
        yield (images, batch_labels) if labels else images


@functools.lru_cache(maxsize=64)
def held_out_split(data):
    """``"test"`` if the data spec has a test split, else ``"train"`` (e.g. an image folder).

    Remembered per spec: finding out reads the split, and an evaluation asks several times."""
    from kgen.data import sources

    try:
        sources.resolve(data, "test")
        return "test"
    except NoSplitError:
        return "train"


def held_out_examples(data, image_size, n):
    """The first ``n`` test images of ``data`` as uint8 (training images if it has no test split) and
    their labels (-1 for unlabelled data), as NumPy arrays."""
    images, labels = next(uint8_batches(data, held_out_split(data), image_size, batch_size=n, limit=n, labels=True))
    return images.numpy(), labels.numpy()
