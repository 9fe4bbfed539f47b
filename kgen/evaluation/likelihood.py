"""Log-densities and the importance-weighted likelihood bound: pure functions for evaluating
autoencoders (VAE, VAE-GAN) on held-out data.

For an encoder q(z|x) = N(μ, diag σ²), prior p(z) = N(0, I) and decoder p(x|z), with K samples
``z_k ~ q(z|x)`` and log-weights ``w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x)``:

* the ELBO estimate is ``mean_k w_k``;
* the importance-weighted bound (Burda et al. 2016) is ``log mean_k exp(w_k)``; it is ≥ the ELBO
  estimate for the same samples and tends to ``log p(x)`` as K grows.
"""

from __future__ import annotations

import math

import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z, mean, log_var):
    """``log N(z; mean, diag exp(log_var))`` summed over the last axis.

    Args:
        z, mean, log_var: broadcastable tensors ``[..., d]``.

    Returns:
        float64 tensor ``[...]``.
    """
    z, mean, log_var = (tf.cast(t, tf.float64) for t in (z, mean, log_var))
    return -0.5 * tf.reduce_sum(LOG_2PI + log_var + tf.square(z - mean) * tf.exp(-log_var), axis=-1)


def standard_normal_log_density(z):
    """``log N(z; 0, I)`` summed over the last axis (float64 ``[...]``)."""
    z = tf.cast(z, tf.float64)
    return -0.5 * tf.reduce_sum(LOG_2PI + tf.square(z), axis=-1)


def log_mean_exp(values, axis=0):
    """``log(mean(exp(values)))`` along ``axis``, without overflow (float64)."""
    values = tf.cast(values, tf.float64)
    count = tf.cast(tf.shape(values)[axis], tf.float64)
    return tf.reduce_logsumexp(values, axis=axis) - tf.math.log(count)


def importance_log_weights(log_px_given_z, z, mean, log_var):
    """``log p(x|z_k) + log p(z_k) − log q(z_k|x)`` for K posterior samples of each example.

    Args:
        log_px_given_z: ``[K, batch]`` decoder log-likelihoods of the examples.
        z: ``[K, batch, d]`` the samples.
        mean, log_var: ``[batch, d]`` parameters of q(z|x).

    Returns:
        float64 ``[K, batch]``.
    """
    return (tf.cast(log_px_given_z, tf.float64) + standard_normal_log_density(z)
            - gaussian_log_density(z, mean[None], log_var[None]))


def elbo_and_iw_bound(log_weights):
    """The ELBO estimate and the importance-weighted bound of each example from its log-weights.

    Args:
        log_weights: ``[K, batch]`` from :func:`importance_log_weights`.

    Returns:
        ``(elbo [batch], iw_bound [batch])``, float64, in nats.
    """
    log_weights = tf.cast(log_weights, tf.float64)
    return tf.reduce_mean(log_weights, axis=0), log_mean_exp(log_weights, axis=0)
