"""Deterministic, streamed sampling: latent vectors from stateless seeds, labels spread over classes,
and the sampling protocol shared by kgen's Keras models and their exported SavedModels."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kgen.models.latent_prior import mixture_draws

SAMPLE_CHUNK = 256  # latent vectors are drawn in chunks of this size, each from (seed, chunk index)


def latent_vectors(n, latent_dim, seed=0, offset=0):
    """Deterministic standard-normal latent vectors.

    Vectors are drawn in chunks of ``SAMPLE_CHUNK``, chunk ``k`` from the stateless seed
    ``(seed, k)``, so the i-th vector of a seed is the same whatever ``n`` or the batch size — in
    kgen and in its exported SavedModels alike.

    Args:
        n: number of vectors.
        latent_dim: size of each vector.
        seed: integer seed.
        offset: index of the first vector (a multiple of ``SAMPLE_CHUNK``).

    Returns:
        float32 tensor ``[n, latent_dim]``.
    """
    if offset % SAMPLE_CHUNK:
        raise ValueError(f"offset must be a multiple of {SAMPLE_CHUNK}; got {offset}.")
    first = offset // SAMPLE_CHUNK
    chunks = [
        tf.random.stateless_normal((SAMPLE_CHUNK, latent_dim), seed=tf.constant([seed, k], tf.int64))
        for k in range(first, first + -(-n // SAMPLE_CHUNK))
    ]
    return tf.concat(chunks, axis=0)[:n]


def latent_uniforms(n, seed=0, offset=0):
    """Deterministic uniform draws in [0, 1), one per latent vector of :func:`latent_vectors` with the same
    ``n``, ``seed`` and ``offset``: chunk ``k`` from the stateless seed ``(seed, -1 - k)``, a stream no normal
    draw uses. A mixture prior picks each vector's component with them.

    Returns:
        float32 tensor ``[n]``.
    """
    if offset % SAMPLE_CHUNK:
        raise ValueError(f"offset must be a multiple of {SAMPLE_CHUNK}; got {offset}.")
    first = offset // SAMPLE_CHUNK
    chunks = [
        tf.random.stateless_uniform((SAMPLE_CHUNK,), seed=tf.constant([seed, -1 - k], tf.int64))
        for k in range(first, first + -(-n // SAMPLE_CHUNK))
    ]
    return tf.concat(chunks, axis=0)[:n]


def spread_labels(n, num_classes):
    """Labels of ``n`` images spread evenly over ``num_classes`` classes, in order: image ``i`` gets
    class ``i · num_classes // n`` (so each class gets ``n // num_classes`` or one more).

    Example:
        >>> spread_labels(5, 2).tolist()
        [0, 0, 0, 1, 1]
    """
    return (np.arange(n, dtype=np.int64) * num_classes // n).astype("int32")


class LatentSampler:
    """Deterministic, streamed sampling for anything with ``latent_dim``, ``output_range``,
    ``num_classes`` and ``generate(z, labels)``: kgen's Keras models and their exported SavedModels
    alike.

    Attributes:
        num_classes: classes of a class-conditional model (0: unconditional).
        has_encoder: whether it also encodes images (VAE, VAE-GAN and their exports): the one way
            kgen asks "is it an autoencoder?".
    """

    num_classes = 0
    has_encoder = False

    @property
    def conditional(self):
        """Whether the model generates images of a requested class (``num_classes > 0``)."""
        return self.num_classes > 0

    def latent_prior(self):
        """The fitted mixture prior as ``(weights, means, cholesky)`` (see
        :func:`kgen.models.latent_prior.mixture_draws`), or ``None`` when latent vectors are drawn from N(0, I)."""
        return None

    def latent_batch(self, n, seed=0, offset=0):
        """Deterministic latent vectors from the model's prior: :func:`latent_vectors` (N(0, I)), or, with a
        fitted mixture prior, that mixture's draws from the same normal vectors and :func:`latent_uniforms`.
        The i-th vector of a seed is the same whatever ``n`` or the batch size."""
        noise = latent_vectors(n, self.latent_dim, seed=seed, offset=offset)
        prior = self.latent_prior()
        if prior is None:
            return noise
        return mixture_draws(noise, latent_uniforms(n, seed=seed, offset=offset), *prior)

    def class_rows_inputs(self, per_class, seed=0):
        """Latent vectors and labels of a class-conditional grid: one row of ``per_class`` images per
        class, column ``j`` of every row from the same latent vector (rows show the classes, columns
        the styles).

        Returns:
            ``(z [classes·per_class, latent_dim] float32 tensor, labels [classes·per_class] int32 NumPy)``.
        """
        if not self.conditional:
            raise ValueError("A grid with one row per class needs a class-conditional model.")
        z = tf.tile(self.latent_batch(per_class, seed=seed), [self.num_classes, 1])
        return z, np.repeat(np.arange(self.num_classes, dtype="int32"), per_class)

    def sample_labels(self, n, labels=None):
        """The class labels of ``n`` samples: ``None`` for an unconditional model.

        Args:
            n: number of samples.
            labels: ``None`` (spread evenly over the classes: :func:`spread_labels`), one class for all,
                or one class per sample.

        Returns:
            int32 NumPy ``[n]``, or ``None`` for an unconditional model.

        Raises:
            ValueError: labels for an unconditional model, a class outside ``[0, num_classes)``, or a
                label count other than ``n``.
        """
        if not self.conditional:
            if labels is not None:
                raise ValueError("This model is not class-conditional: it takes no labels "
                                 "(train one with --conditional).")
            return None
        if labels is None:
            return spread_labels(n, self.num_classes)
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full(n, labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"Expected one integer label or {n} of them; got {labels.dtype} {labels.shape}.")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = labels[(labels < 0) | (labels >= self.num_classes)][0]
            raise ValueError(f"Label {bad} is not a class of this model: expected 0 to {self.num_classes - 1}.")
        return labels.astype("int32")

    def sample_batches(self, n, seed=0, batch_size=SAMPLE_CHUNK, labels=None):
        """Yield ``n`` generated images as float32 NumPy batches, streaming (memory ∝ batch size).

        Args:
            n: total number of images (> 0).
            seed: integer seed; the same seed gives the same images.
            batch_size: images per yielded batch; rounded up to a multiple of ``SAMPLE_CHUNK``.
            labels: classes of a conditional model's images (see :meth:`sample_labels`).

        Yields:
            float32 arrays ``[b, H, W, C]`` in ``output_range``.
        """
        if int(n) < 1:
            raise ValueError(f"The number of samples must be a positive integer; got {n}.")
        labels = self.sample_labels(n, labels)
        step = max(SAMPLE_CHUNK, -(-batch_size // SAMPLE_CHUNK) * SAMPLE_CHUNK)
        for start in range(0, n, step):
            z = self.latent_batch(min(step, n - start), seed=seed, offset=start)
            batch_labels = None if labels is None else labels[start:start + len(z)]
            yield np.asarray(self._generate_batch(z, batch_labels), dtype="float32")

    def sample(self, n, seed=0, labels=None):
        """``n`` generated images, float32 NumPy ``[n, H, W, C]`` in ``output_range``.

        NumPy, as ``model.predict`` returns: ``sample`` is the convenience call (batched, seeded, any
        ``n``). :meth:`generate` is the model call inside TensorFlow code and returns a tensor, as
        calling a Keras model does.

        Example:
            >>> images = model.sample(64, seed=1)  # doctest: +SKIP
            >>> shirts = conditional_model.sample(64, seed=1, labels=6)  # doctest: +SKIP
        """
        return np.concatenate(list(self.sample_batches(n, seed=seed, labels=labels)), axis=0)

    def _generate_batch(self, z, labels=None):
        return self.generate(z, labels, training=False)
