"""The standard FID / IS / KID feature extractor: Keras' InceptionV3 with ImageNet weights.

Protocol: uint8 images (generated images are quantised first), grayscale replicated to RGB,
resized to 299×299 with antialiased bilinear resizing, scaled to [-1, 1] as InceptionV3 expects;
the 2048-d global-average-pool output gives the features, the 1000 ImageNet logits (the last dense
layer without its softmax) give the Inception Score.

Keras' InceptionV3 weights are not the 2015 TensorFlow graph of the original IS and FID code, so
absolute values differ slightly from papers; kgen's numbers are comparable with each other.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen.evaluation.extractor import FeatureExtractor

INPUT_SIZE = 299


def _shorten(text, limit=200):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ExtractorUnavailable(RuntimeError):
    """The extractor's weights cannot be had (e.g. offline); the message says what to do instead."""


class InceptionExtractor(FeatureExtractor):
    """InceptionV3 pool features and logits of uint8 images.

    Args:
        weights: ``"imagenet"`` (downloaded by Keras on first use and cached in ``~/.keras/models``),
            ``None`` (random weights: for tests only) or a path to a weights file.
        batch_size: images per forward pass.

    Raises:
        ExtractorUnavailable: the ImageNet weights cannot be downloaded.

    Attributes:
        name: ``"inception"``; key: identifies the weights (for caching reference features).
    """

    name = "inception"

    def __init__(self, weights="imagenet", batch_size=50):
        try:
            network = keras.applications.InceptionV3(include_top=True, weights=weights)
        except Exception as e:  # Keras raises a plain Exception on a failed download
            if weights != "imagenet":
                raise
            raise ExtractorUnavailable(
                "InceptionV3's ImageNet weights are not available: Keras could not download them "
                f"({_shorten(str(e))}). Run once with internet access (Keras caches them in ~/.keras/models/); "
                "kgen's evaluator classifier (--extractor classifier) works offline."
            ) from None
        pool = network.get_layer("avg_pool").output
        dense = network.get_layer("predictions")
        self._network = keras.Model(network.input, pool)
        self._kernel, self._bias = dense.kernel, dense.bias
        self.weights = weights
        self.key = f"inception-{weights if isinstance(weights, str) else 'random'}"
        self.batch_size = batch_size
        self._features_and_logits = tf.function(self._inception, reduce_retracing=True)

    def describe(self):
        """One line for reports."""
        return f"InceptionV3 ({self.weights or 'random'} weights; 2048-d pool features, 1000 logits; 299×299 bilinear)"

    def _inception(self, images_uint8):
        x = tf.cast(images_uint8, tf.float32)
        if x.shape[-1] == 1:
            x = tf.tile(x, (1, 1, 1, 3))
        x = tf.image.resize(x, (INPUT_SIZE, INPUT_SIZE), method="bilinear", antialias=True)
        x = keras.applications.inception_v3.preprocess_input(x)
        features = self._network(x, training=False)
        return features, tf.matmul(features, self._kernel) + self._bias

    def check_images(self, images):
        if images.shape[-1] not in (1, 3):
            raise ValueError(f"InceptionV3 takes grayscale or RGB images; got {images.shape[-1]} channels.")
