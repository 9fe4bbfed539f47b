"""Fitting an autoencoder's mixture prior after training: its encoder's codes of the training images, and the
mixture fitted to them (:meth:`kgen.models.base.AutoencodingModel.fit_prior`)."""

from __future__ import annotations

import time

import numpy as np

from kgen.images import from_uint8
from kgen.run.settings import PRIOR_CODES, PRIOR_DRAWS


def posterior_codes(model, data, n, seed=0, limit=None, classes=None, draws=1):
    """``z ~ q(z|x)`` for the first ``n`` training images of ``data`` (of the first ``limit`` when the run
    trained on those only, of ``classes`` when on those only): ``draws`` draws each, from a NumPy generator of
    ``seed``; float32 ``[n' · draws, latent_dim]``."""
    from kgen.data.real_images import uint8_batches

    if int(draws) < 1:
        raise ValueError(f"draws must be ≥ 1 per image; got {draws!r}.")
    rng, codes = np.random.default_rng(seed), []
    for batch in uint8_batches(data, "train", model.image_shape[0], limit=min(n, limit or n), classes=classes):
        mean, log_var = (np.asarray(t, dtype="float32") for t in model.encode(from_uint8(batch, model.output_range)))
        noise = rng.standard_normal((int(draws),) + mean.shape).astype("float32")
        codes.append((mean + np.exp(0.5 * log_var) * noise).reshape(-1, mean.shape[-1]))
    return np.concatenate(codes)


def fit_latent_prior(model, data, n=PRIOR_CODES, draws=PRIOR_DRAWS, seed=0, limit=None, classes=None):
    """Fit ``model``'s mixture prior to ``draws`` codes each of ``n`` training images of ``data`` (``limit`` and
    ``classes`` as the run's).

    Returns:
        what a run's record keeps of it: ``{"components", "temperature", "images", "draws", "seconds"}``.
    """
    start = time.monotonic()
    codes = posterior_codes(model, data, n, seed=seed, limit=limit, classes=classes, draws=draws)
    model.fit_prior(codes, seed=seed)
    return {"components": model.prior_components, "temperature": model.prior_temperature,
            "images": len(codes) // int(draws), "draws": int(draws), "seconds": round(time.monotonic() - start, 1)}
