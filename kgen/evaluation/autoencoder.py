"""How well an autoencoder (VAE, VAE-GAN or their exports) models held-out images: reconstruction error,
negative ELBO and an importance-weighted NLL, with one Bernoulli pixel likelihood for every model, and
the KL of each latent dimension."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from kgen.data.real_images import held_out_split, uint8_batches
from kgen.evaluation import likelihood
from kgen.images import from_uint8
from kgen.models import losses

# A latent dimension counts as active when its KL from the prior, averaged over the data, exceeds this
# (nats): below it the encoder barely moves the dimension away from the prior.
ACTIVE_KL = 0.01


def autoencoder_metrics(model, data, n=1000, samples=64, seed=0, batch_size=None, verbose=False, translate=0.0):
    """Reconstruction error, negative ELBO and importance-weighted NLL on held-out images.

    Every term uses the same pixel model for every autoencoder, so VAE and VAE-GAN compare: images and
    decoder outputs mapped to [0, 1], a Bernoulli likelihood per pixel (nats per image).

    Args:
        model: a VAE or VAE-GAN (or its export).
        data: data spec; its test split is used (the training split if it has none).
        n: number of test images.
        samples: K, posterior samples per image for the ELBO and the importance-weighted bound.
        seed: seed of the posterior samples.
        batch_size: images per step (default ``max(1, 1024 // samples)``).
        verbose: show a progress bar.
        translate: shift the test images randomly by up to this fraction of their size.

    Returns:
        ``{"n", "samples", "reconstruction_mse", "reconstruction_nll", "neg_elbo", "iw_nll",
        "kl_per_dimension", "active_dimensions"}``: per-pixel squared error and Bernoulli NLL of the
        posterior-mean reconstruction, the negative ELBO and the negative importance-weighted bound,
        averaged over the images; the KL of each latent dimension (nats, averaged over the images) and
        how many exceed ``ACTIVE_KL`` nats. For a class-conditional model every term is conditioned on
        the images' labels (the bounds are of −log p(x | y)).
    """
    batch_size = batch_size or max(1, 1024 // samples)
    size = model.image_shape[0]
    batches = uint8_batches(data, held_out_split(data), size, batch_size, limit=n, translate=translate, labels=True)
    scorer = AutoencoderScorer(model, samples, seed)
    totals = dict.fromkeys(AutoencoderScorer.SCORES, 0.0)
    kl_totals = 0.0
    count = 0
    progress = keras.utils.Progbar(n, unit_name="test image") if verbose else None
    for images, labels in batches:
        scores = scorer(images, labels if model.conditional else None)
        kl_totals = kl_totals + np.sum(scores.pop("kl_per_dimension"), axis=0)
        for key, values in scores.items():
            totals[key] += float(np.sum(values))
        count += int(images.shape[0])
        if progress is not None:
            progress.add(int(images.shape[0]))
    kl = kl_totals / count
    return {"n": count, "samples": samples, **{k: v / count for k, v in totals.items()},
            "kl_per_dimension": [float(v) for v in kl], "active_dimensions": int(np.sum(kl > ACTIVE_KL))}


class AutoencoderScorer:
    """Per-image reconstruction and likelihood scores of an autoencoder (VAE, VAE-GAN or their exports).

    Images and decoder outputs are mapped to [0, 1] and scored with a Bernoulli pixel likelihood, the
    same for every model. Posterior samples are drawn from stateless seeds ``(seed, call index)``.

    Args:
        model: anything with ``encode``, ``decode``, ``output_range``, ``conditional``.
        samples: K, posterior samples per image.
        seed: seed of the posterior samples.
    """

    SCORES = ("reconstruction_mse", "reconstruction_nll", "neg_elbo", "iw_nll")

    def __init__(self, model, samples=64, seed=0):
        low, high = model.output_range
        self.value_range, self.samples, self.seed = (low, high), samples, seed
        self._encode = tf.function(lambda x, labels=None: model.encode(x, labels, training=False))
        self._decode = tf.function(
            lambda z, labels=None: (tf.cast(model.decode(z, labels, training=False), tf.float32) - low) / (high - low))
        self._calls = 0

    def __call__(self, images, labels=None):
        """``{score: float64 NumPy [b]}`` for uint8 images ``[b, H, W, C]`` (and their ``labels``, for a
        class-conditional model): per-pixel squared error and Bernoulli NLL of the posterior-mean
        reconstruction, negative ELBO and negative importance-weighted bound (nats); and
        ``kl_per_dimension`` ``[b, latent]``."""
        x01 = tf.cast(images, tf.float32) / 255.0
        if labels is not None:
            labels = tf.cast(labels, tf.int32)
        mean, log_var = (tf.cast(t, tf.float32) for t in self._encode(from_uint8(images, self.value_range), labels))
        reconstruction = self._decode(mean, labels)
        b, k = int(images.shape[0]), self.samples
        eps = tf.random.stateless_normal((k, b, mean.shape[-1]), seed=tf.constant([self.seed, self._calls], tf.int64))
        self._calls += 1
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
        decoded = self._decode(tf.reshape(z, (k * b, -1)), None if labels is None else tf.tile(labels, [k]))
        log_px = -tf.reshape(losses.bernoulli_nll_per_example(tf.tile(x01, (k, 1, 1, 1)), decoded), (k, b))
        elbo, iw_bound = likelihood.elbo_and_iw_bound(likelihood.importance_log_weights(log_px, z, mean, log_var))
        return {
            "reconstruction_mse": tf.reduce_mean(tf.square(reconstruction - x01), axis=[1, 2, 3]).numpy()
            .astype("float64"),
            "reconstruction_nll": losses.bernoulli_nll_per_example(x01, reconstruction).numpy().astype("float64"),
            "neg_elbo": -elbo.numpy(),
            "iw_nll": -iw_bound.numpy(),
            "kl_per_dimension": losses.kl_per_dimension(mean, log_var).numpy().astype("float64"),
        }


def autoencoder_protocol(scores):
    """One line stating how :func:`autoencoder_metrics` computed ``scores``."""
    return (f"{scores['n']} test images; images and decoder outputs in [0, 1], Bernoulli pixel likelihood (nats per "
            f"image); K = {scores['samples']} posterior samples")


def autoencoder_report(model, data, n=1000, samples=64, seed=0, verbose=False, translate=0.0):
    """A report (the form of :func:`evaluate`'s) with an autoencoder's reconstruction and likelihood
    metrics only: what can be compared when there is no feature extractor for sample metrics."""
    start = time.perf_counter()
    scores = autoencoder_metrics(model, data, n, samples, seed, verbose=verbose, translate=translate)
    return {"protocol": {"data": str(data), "seed": seed, "translate": translate,
                         "autoencoder": autoencoder_protocol(scores)},
            "metrics": {}, "autoencoder": scores, "class_agreement": None, "seconds": time.perf_counter() - start}
