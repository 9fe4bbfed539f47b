"""Fitting an autoencoder's mixture prior after training: its encoder's codes of the training images, and the
mixture fitted to them (:meth:`kgen.models.base.AutoencodingModel.fit_prior`)."""

from __future__ import annotations

import time

import numpy as np

from kgen.images import from_uint8
from kgen.run.settings import PRIOR_CODES


def posterior_codes(model, data, n, seed=0, limit=None, classes=None):
    """``z ~ q(z|x)`` for the first ``n`` training images of ``data`` (of the first ``limit`` when the run
    trained on those only, of ``classes`` when on those only): one draw each, from a NumPy generator of ``seed``;
    float32 ``[n', latent_dim]``."""
    from kgen.data.real_images import uint8_batches

    rng, codes = np.random.default_rng(seed), []
    for batch in uint8_batches(data, "train", model.image_shape[0], limit=min(n, limit or n), classes=classes):
        mean, log_var = (np.asarray(t, dtype="float32") for t in model.encode(from_uint8(batch, model.output_range)))
        codes.append(mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape).astype("float32"))
    return np.concatenate(codes)


def fit_latent_prior(model, data, n=PRIOR_CODES, seed=0, limit=None, classes=None):
    """Fit ``model``'s mixture prior to its codes of ``n`` training images of ``data`` (``limit`` and ``classes``
    as the run's).

    Returns:
        ``(codes used, seconds taken)``.
    """
    start = time.monotonic()
    codes = posterior_codes(model, data, n, seed=seed, limit=limit, classes=classes)
    model.fit_prior(codes, seed=seed)
    return len(codes), time.monotonic() - start
