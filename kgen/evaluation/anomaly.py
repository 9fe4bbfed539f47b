"""Anomaly detection with a generative model trained on "normal" classes only: score test images by
how badly the model explains them, and measure with ROC AUC how well the scores separate the held-out
classes from the normal ones.

Scores (higher = more anomalous):

* autoencoders (VAE, VAE-GAN): reconstruction error and negative ELBO (:class:`AutoencoderScorer`);
* models with a discriminator (GAN, VAE-GAN): minus the discriminator's logit ("how fake it looks").
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kgen.data.real_images import uint8_batches
from kgen.evaluation.autoencoder import AutoencoderScorer
from kgen.images import from_uint8


def average_ranks(values):
    """1-based ranks of ``values``, ties sharing the average of their ranks (as in the Mann-Whitney U test)."""
    values = np.asarray(values, dtype="float64")
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = 0.5 * (start + end) + 1.0
        start = end + 1
    return ranks


def roc_auc(normal_scores, anomaly_scores):
    """Area under the ROC curve of a score that should be higher for anomalies.

    Equals the probability that a random anomaly scores above a random normal example (ties count
    half): the Mann-Whitney U statistic divided by ``n_normal · n_anomalous``.

    Returns:
        A float in [0, 1]; 0.5 is chance.
    """
    normal, anomalous = np.ravel(normal_scores), np.ravel(anomaly_scores)
    if len(normal) == 0 or len(anomalous) == 0:
        raise ValueError(f"ROC AUC needs both normal and anomalous examples; got {len(normal)} and {len(anomalous)}.")
    ranks = average_ranks(np.concatenate([normal, anomalous]))
    u = ranks[len(normal):].sum() - len(anomalous) * (len(anomalous) + 1) / 2.0
    return float(u / (len(normal) * len(anomalous)))


def anomaly_scores(model, images, scorer=None):
    """``{score name: [b]}`` for uint8 images: the autoencoder scores and/or the discriminator score."""
    scores = {}
    if scorer is not None:
        all_scores = scorer(images)
        scores.update(reconstruction_error=all_scores["reconstruction_nll"], neg_elbo=all_scores["neg_elbo"])
    discriminator = getattr(model, "discriminator", None)
    if discriminator is not None:
        logits = discriminator(from_uint8(images, model.output_range), training=False)
        if isinstance(logits, (list, tuple)):  # VAE-GAN's discriminator also returns its features
            logits = logits[0]
        scores["discriminator"] = -np.asarray(tf.reshape(tf.cast(logits, tf.float32), [-1]), dtype="float64")
    return scores


def detect_anomalies(model, data, normal_classes, n=10_000, samples=16, seed=0, batch_size=256):
    """Score up to ``n`` labelled test images and report the ROC AUC of each score, with normal =
    ``normal_classes`` and anomalous = every other class.

    Args:
        model: a kgen model (trained on the normal classes), or an autoencoder export.
        data: labelled data spec with a test split.
        normal_classes: class labels counted as normal.
        n: test images to score.
        samples: K posterior samples for the negative ELBO.
        seed: seed of the posterior samples.
        batch_size: images per step.

    Returns:
        ``{"normal_classes", "n_normal", "n_anomalous", "auc": {score: value}}``.

    Raises:
        ValueError: the model has no score to offer, or the test images hold no normal or no anomalous example.
    """
    if getattr(model, "conditional", False):
        raise ValueError("Anomaly detection scores images without knowing their class, so it needs a model trained "
                         "without --conditional.")
    scorer = AutoencoderScorer(model, samples, seed) if model.has_encoder else None
    if scorer is None and getattr(model, "discriminator", None) is None:
        raise ValueError(f"{type(model).__name__} has neither an encoder nor a discriminator to score images with.")
    normal = set(int(c) for c in normal_classes)
    collected, is_normal = {}, []
    for images, labels in uint8_batches(data, "test", model.image_shape[0], batch_size, limit=n, labels=True):
        for name, values in anomaly_scores(model, images, scorer).items():
            collected.setdefault(name, []).append(values)
        is_normal.append(np.isin(labels.numpy(), list(normal)))
    is_normal = np.concatenate(is_normal)
    auc = {}
    for name, parts in collected.items():
        values = np.concatenate(parts)
        auc[name] = roc_auc(values[is_normal], values[~is_normal])
    return {"normal_classes": sorted(normal), "n_normal": int(is_normal.sum()),
            "n_anomalous": int((~is_normal).sum()), "auc": auc}
