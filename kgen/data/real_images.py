"""Real images as the evaluation reads them: uint8 batches of one split (resized, shifted when asked),
which split holds images no model trained on, and a few held-out images for pictures."""

from __future__ import annotations

import functools

from kgen.data.errors import NoSplitError
from kgen.data.pipeline import load_dataset
from kgen.images import to_uint8_tensor


def uint8_batches(spec, split, image_size, batch_size=500, shuffle=False, seed=0, limit=None, translate=0.0,
                  labels=False, skip=0):
    """Yield the uint8 image batches ``[b, H, W, C]`` of one split of a data spec (resized to ``image_size``,
    randomly shifted by up to ``translate`` of the size when asked, as in training); with ``labels``,
    ``(images, labels)`` pairs. ``skip`` and ``limit`` select examples ``skip`` to ``skip + limit``."""
    dataset, info = load_dataset(spec, batch_size, (0.0, 255.0), image_size, split, seed, shuffle=shuffle,
                                 limit=limit, drop_remainder=False, translate=translate, labels=labels, skip=skip)
    for batch in dataset:
        images = batch[0] if labels else batch
        images = to_uint8_tensor(images, (0.0, 255.0))
        yield (images, batch[1]) if labels else images


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
