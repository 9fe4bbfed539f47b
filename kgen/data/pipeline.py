"""One function from a data spec to a batched, scaled tf.data pipeline."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from kgen.data import sources
from kgen.images import from_uint8, to_uint8_tensor
from kgen.data.errors import DataError


@dataclasses.dataclass
class DataInfo:
    """What the pipeline yields.

    Attributes:
        image_shape: ``(H, W, C)`` of the batches' images.
        num_examples: examples in the split (after ``limit``).
        steps_per_epoch: batches per pass.
        has_labels: whether batches carry real labels.
        value_range: ``(low, high)`` of the pixel values.
        description: where the data came from.
    """

    image_shape: tuple
    num_examples: int
    steps_per_epoch: int
    has_labels: bool
    value_range: tuple
    description: str


def load_dataset(spec, batch_size=128, value_range=(-1.0, 1.0), image_size=None, split="train", seed=0,
                 shuffle=True, translate=0.0, limit=None, labels=False, drop_remainder=True, classes=None):
    """Build the input pipeline of a data spec (see :mod:`kgen.data.sources` for the specs).

    The pipeline reads the source once into an in-memory cache of uint8 images (resized to
    ``image_size``), then per epoch shuffles with ``seed``, batches, scales the pixels to
    ``value_range``, optionally translates, and prefetches.

    Args:
        spec: dataset name, directory or array file.
        batch_size: images per batch.
        value_range: ``(low, high)`` the pixels are scaled to (the model's ``output_range``).
        image_size: side of the square images; ``None`` keeps the source's size.
        split: ``"train"`` or ``"test"``.
        seed: shuffling (and augmentation) seed.
        shuffle: reshuffle every epoch.
        translate: maximum random shift as a fraction of height and width (0 disables);
            shifted-in pixels take the background value ``value_range[0]``.
        limit: use only the first ``limit`` examples.
        labels: yield ``(images, labels)`` instead of images.
        drop_remainder: drop the last incomplete batch (static batch shapes).
        classes: keep only the examples with these labels (e.g. the "normal" classes of an anomaly
            detector); needs a labelled source.

    Returns:
        ``(dataset, DataInfo)``.

    Raises:
        DataError: the spec holds no usable images, or an image file is corrupt.

    Example:
        >>> ds, info = load_dataset("fashion_mnist", batch_size=128)  # doctest: +SKIP
        >>> info.image_shape, info.steps_per_epoch
        ((28, 28, 1), 468)
    """
    if int(batch_size) < 1:
        raise DataError(f"batch_size must be a positive integer; got {batch_size}.")
    raw = sources.resolve(spec, split)
    dataset, num_examples = raw.dataset, raw.num_examples
    if classes is not None:
        if not raw.has_labels:
            raise DataError(f"{raw.description} has no labels, so it cannot be restricted to classes {list(classes)}.")
        wanted = tf.constant(sorted(int(c) for c in classes), tf.int64)
        dataset = dataset.filter(lambda x, y: tf.reduce_any(tf.equal(tf.cast(y, tf.int64), wanted)))
        num_examples = int(dataset.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))
        if num_examples == 0:
            raise DataError(f"{raw.description} has no examples of classes {list(classes)}.")
    if limit is not None:
        if int(limit) < 1:
            raise DataError(f"limit must be a positive integer; got {limit}.")
        dataset, num_examples = dataset.take(int(limit)), min(num_examples, int(limit))
    shape = raw.image_shape
    if image_size is not None or raw.files is not None or shape[0] != shape[1]:
        size = int(image_size or min(shape[:2]))
        dataset = dataset.map(lambda x, y: (_square_resize(x, size), y), num_parallel_calls=tf.data.AUTOTUNE)
        shape = (size, size, shape[-1])
    steps = num_examples // batch_size if drop_remainder else -(-num_examples // batch_size)
    if steps == 0:
        raise DataError(
            f"{raw.description} has {num_examples} examples, fewer than one batch of {batch_size}; "
            "use a smaller --batch-size."
        )
    dataset = dataset.cache()
    if raw.files is not None:
        _fill_cache(dataset, raw.files)
    if shuffle:
        dataset = dataset.shuffle(min(num_examples, 60_000), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda x, y: (from_uint8(x, value_range), y), num_parallel_calls=tf.data.AUTOTUNE)
    if translate:
        shift = keras.layers.RandomTranslation(
            translate, translate, fill_mode="constant", fill_value=value_range[0], seed=seed
        )
        dataset = dataset.map(lambda x, y: (shift(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    if not labels:
        dataset = dataset.map(lambda x, y: x)
    info = DataInfo(tuple(int(d) for d in shape), num_examples, steps, raw.has_labels, tuple(value_range), raw.description)
    return dataset.prefetch(tf.data.AUTOTUNE), info


def _square_resize(image, size):
    """Centre-crop to a square, then resize (antialiased bilinear) to ``size``×``size``, as uint8."""
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(h, w)
    image = tf.image.crop_to_bounding_box(image, (h - side) // 2, (w - side) // 2, side, side)
    image = tf.image.resize(image, (size, size), method="bilinear", antialias=True)
    return to_uint8_tensor(image, (0.0, 255.0))


def _fill_cache(cached, files):
    """Decode every image file once, into the cache, so that a corrupt file is reported now and by
    name rather than as a TensorFlow error in the middle of training."""
    try:
        for _ in cached.batch(1024).prefetch(2):
            pass
    except tf.errors.OpError as e:
        bad = sources.find_corrupt_image(files)
        if bad is None:
            raise DataError(f"Cannot read the image files: {e.message}") from None
        raise DataError(f"Image file {bad} is corrupt or not an image.") from None
