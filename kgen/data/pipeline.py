"""One function from a data spec to a batched, scaled tf.data pipeline."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from kgen.data import sources
from kgen.images import from_uint8, to_uint8_tensor
from kgen.data.errors import DataError

PARALLEL_CALLS = 2  # batches prepared at once: enough to keep ahead of a training step on in-memory data
PREFETCH_BATCHES = 2


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
        num_classes: number of classes of the labels (0 without labels).
    """

    image_shape: tuple
    num_examples: int
    steps_per_epoch: int
    has_labels: bool
    value_range: tuple
    description: str
    num_classes: int = 0


def load_epochs(spec, batch_size=128, value_range=(-1.0, 1.0), image_size=None, split="train", seed=0,
                shuffle=True, translate=0.0, limit=None, labels=False, drop_remainder=True, classes=None, skip=0):
    """Read a data spec once into an in-memory cache and return the batches of each epoch by number.

    Args: as :func:`load_dataset`.

    Returns:
        ``(EpochPipeline, DataInfo)``; ``pipeline.epoch(e)`` is epoch ``e``'s dataset.

    Raises:
        DataError: the spec holds no usable images, or an image file is corrupt.
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
        # A filter's length is unknown to Keras, which then warns "input ran out of data" at each pass's end.
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_examples))
    if skip:
        if not 0 < int(skip) < num_examples:
            raise DataError(f"skip must be between 0 and {num_examples - 1} (the examples of {raw.description}); "
                            f"got {skip}.")
        dataset, num_examples = dataset.skip(int(skip)), num_examples - int(skip)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_examples))
    if limit is not None:
        if int(limit) < 1:
            raise DataError(f"limit must be a positive integer; got {limit}.")
        dataset, num_examples = dataset.take(int(limit)), min(num_examples, int(limit))
    shape = raw.image_shape
    if raw.sizes is not None and len(raw.sizes) > 1 and image_size is None:
        (size_a, file_a), (size_b, file_b) = list(raw.sizes.items())[:2]
        raise DataError(f"{raw.description} holds images of {len(raw.sizes)} different sizes (e.g. {file_a} is "
                        f"{size_a[0]}×{size_a[1]}, {file_b} is {size_b[0]}×{size_b[1]}): pass --image-size to "
                        "centre-crop and resize them all to one size.")
    if image_size is not None or raw.files is not None or shape[0] != shape[1]:
        size = int(image_size or min(shape[:2]))
        dataset = dataset.map(lambda x, y: (_square_resize(x, size), y), num_parallel_calls=PARALLEL_CALLS)
        shape = (size, size, shape[-1])
    steps = num_examples // batch_size if drop_remainder else -(-num_examples // batch_size)
    if steps == 0:
        raise DataError(
            f"{raw.description} has {num_examples} examples, fewer than one batch of {batch_size}; "
            "use a smaller --batch-size."
        )
    dataset = without_autotuning(dataset.cache())  # also for the one pass that fills the cache
    if raw.files is not None:
        _fill_cache(dataset, raw.files)
    info = DataInfo(tuple(int(d) for d in shape), num_examples, steps, raw.has_labels, tuple(value_range),
                    raw.description, raw.num_classes)
    return EpochPipeline(dataset, info, batch_size, seed, shuffle, translate, labels, drop_remainder), info


def load_dataset(spec, batch_size=128, value_range=(-1.0, 1.0), image_size=None, split="train", seed=0,
                 shuffle=True, translate=0.0, limit=None, labels=False, drop_remainder=True, classes=None, skip=0):
    """Build the input pipeline of a data spec (see :mod:`kgen.data.sources` for the specs).

    The pipeline reads the source once into an in-memory cache of uint8 images (resized to
    ``image_size``), then per epoch shuffles with ``seed``, batches, scales the pixels to
    ``value_range``, optionally translates, and prefetches. Iterating it again gives a new order;
    :func:`load_epochs` gives each epoch's dataset by number instead (what resumable training needs).

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
        skip: leave out the first ``skip`` examples (before ``limit``; e.g. the training images an
            evaluator was trained on, to read the ones it held out).

    Returns:
        ``(dataset, DataInfo)``.

    Raises:
        DataError: the spec holds no usable images, or an image file is corrupt.

    Example:
        >>> ds, info = load_dataset("fashion_mnist", batch_size=128)  # doctest: +SKIP
        >>> info.image_shape, info.steps_per_epoch
        ((28, 28, 1), 468)
    """
    pipeline, info = load_epochs(spec, batch_size, value_range, image_size, split, seed, shuffle, translate, limit,
                                 labels, drop_remainder, classes, skip)
    return pipeline.reshuffling(), info


def epoch_seed(seed, epoch):
    """The shuffling and augmentation seed of one epoch of a run with ``seed``."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2 ** 31 - 1)


@dataclasses.dataclass
class EpochPipeline:
    """The batches of every epoch, built from one in-memory cache of uint8 examples.

    Epoch ``e``'s order and augmentation depend only on ``(seed, e)``, so a resumed run sees exactly
    the batches an uninterrupted one would.

    Attributes:
        cached: ``(uint8 image, label)`` examples, cached after the first pass.
        info: what the batches hold.
        batch_size, seed, shuffle, translate, labels, drop_remainder: as in :func:`load_dataset`.
    """

    cached: tf.data.Dataset
    info: DataInfo
    batch_size: int
    seed: int
    shuffle: bool
    translate: float
    labels: bool
    drop_remainder: bool

    def epoch(self, epoch, skip=0):
        """The batches of epoch ``epoch`` (0-based), without its first ``skip`` batches."""
        dataset = self.cached
        if self.shuffle:
            dataset = dataset.shuffle(self._buffer(), seed=epoch_seed(self.seed, epoch), reshuffle_each_iteration=False)
        return self._finish(dataset, tf.data.Dataset.random(seed=epoch_seed(self.seed, epoch)), skip)

    def reshuffling(self):
        """One dataset whose every iteration is a new epoch (new order, new shifts): for ``Model.fit``."""
        dataset = self.cached
        if self.shuffle:
            dataset = dataset.shuffle(self._buffer(), seed=self.seed, reshuffle_each_iteration=True)
        return self._finish(dataset, tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=True))

    def _buffer(self):
        return min(self.info.num_examples, 60_000)

    def _finish(self, dataset, batch_seeds, skip=0):
        dataset = tf.data.Dataset.zip(dataset.batch(self.batch_size, drop_remainder=self.drop_remainder), batch_seeds)
        if skip:
            dataset = dataset.skip(skip)
        value_range, translate = self.info.value_range, self.translate

        def prepare(batch, batch_seed):
            x, y = batch
            x = from_uint8(x, value_range)
            if translate:
                x = random_translate(x, translate, tf.stack([batch_seed, tf.constant(0, tf.int64)]), value_range[0])
            return (x, y) if self.labels else x

        return without_autotuning(dataset.map(prepare, num_parallel_calls=PARALLEL_CALLS).prefetch(PREFETCH_BATCHES))


def without_autotuning(dataset):
    """``dataset`` with tf.data's autotuning turned off (fixed parallelism and buffers instead).

    Autotuning runs a background thread that sleeps for exponentially growing intervals
    (10 ms, 20 ms, 40 ms, …). Destroying an iterator — which the training loop does at the end of
    every epoch — often blocks until that sleep ends, so the epoch is stretched to the next
    10 ms·2^k after the iterator was made (DEVELOPERS.md measures it). kgen's
    pipelines read from memory, where fixed small buffers cost nothing, so the thread is not needed.

    Args:
        dataset: a ``tf.data.Dataset``; give its maps and prefetches explicit sizes (an ``AUTOTUNE``
            left in stays at tf.data's starting value, e.g. one call per core).

    Returns:
        The same dataset with ``options.autotune.enabled = False``.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def random_translate(images, max_fraction, seed, fill_value=0.0):
    """Shift each image by a random offset of up to ``max_fraction`` of its height and width.

    Offsets are uniform in ``[-max_fraction, max_fraction]`` times the size, drawn statelessly from
    ``seed``; pixels are interpolated bilinearly and shifted-in pixels take ``fill_value``.

    Args:
        images: float ``[N, H, W, C]``.
        max_fraction: largest shift as a fraction of the size.
        seed: stateless seed, int ``[2]``.
        fill_value: value of the pixels shifted in.

    Returns:
        The shifted images, same shape and dtype.
    """
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    shifts = tf.random.stateless_uniform((n, 2), seed, -max_fraction, max_fraction)
    dy, dx = shifts[:, 0] * tf.cast(height, tf.float32), shifts[:, 1] * tf.cast(width, tf.float32)
    ones, zeros = tf.ones_like(dx), tf.zeros_like(dx)
    # Each row maps an output pixel (x, y) to the input pixel (x - dx, y - dy).
    transforms = tf.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
    shifted = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32), transforms=transforms, output_shape=tf.stack([height, width]),
        fill_value=tf.cast(fill_value, tf.float32), interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.cast(shifted, images.dtype)


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
