"""What every feature extractor shares: uint8 images in, ``(features, logits)`` NumPy arrays out."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from kgen.files import CACHE_ENV, user_cache_dir


class FeatureExtractor:
    """Base of the feature extractors (InceptionV3, kgen's evaluator classifier).

    Subclasses set ``name``, ``key`` (identifies the weights, for caching reference features) and
    ``batch_size``, implement ``describe()`` and ``_features_and_logits(uint8 batch)`` (a traced
    function), and may check inputs in ``check_images``.
    """

    name = "extractor"
    key = "extractor"
    batch_size = 100

    def describe(self):
        """One line for reports: which network and weights, what features."""
        raise NotImplementedError

    def cache_dir(self):
        """Where features of real images scored by this extractor are cached: ``$KGEN_CACHE/features``
        when it is set, else :meth:`default_cache_dir`. Entries are keyed by ``key``, data and size."""
        if os.environ.get(CACHE_ENV):
            return os.path.join(os.environ[CACHE_ENV], "features")
        return self.default_cache_dir()

    def default_cache_dir(self):
        """The cache without ``$KGEN_CACHE``: ``features/`` in :func:`user_cache_dir`."""
        return os.path.join(user_cache_dir(), "features")

    def check_images(self, images):
        """Raise ``ValueError`` for images this extractor cannot take (shape, channels)."""

    def __call__(self, images):
        """``(features [n, d], logits [n, classes])`` as float32 NumPy for uint8 images ``[n, H, W, C]``.

        Generated images must be quantised to uint8 first (:func:`kgen.images.to_uint8`), as the
        reference implementations do.
        """
        images = tf.convert_to_tensor(images)
        if images.dtype != tf.uint8 or images.shape.rank != 4:
            raise ValueError(
                f"The extractor takes uint8 images [n, H, W, C]; got {images.dtype.name} {tuple(images.shape)}."
            )
        self.check_images(images)
        outputs = [self._features_and_logits(images[i:i + self.batch_size])
                   for i in range(0, int(images.shape[0]), self.batch_size)]
        return tuple(np.concatenate([np.asarray(o[j], "float32") for o in outputs]) for j in range(2))

    def _features_and_logits(self, images_uint8):
        raise NotImplementedError
