"""Two properties the reference papers argue about, as pure functions of images and class logits (NumPy):

* **blur** — :func:`laplacian_variance`: the variance of each image's discrete Laplacian (the classic
  focus measure; blur removes the high frequencies it sums). A model's *relative sharpness* is the mean
  over its images divided by the mean over real images: 1 is as sharp as the data, below 1 blurrier.
  Noise raises it too, so above 1 means "noisier than the data", not "better".
* **dropped classes** — :func:`class_coverage`: from a classifier's decisions, how many of the data's
  classes a model generates at at least half their share among real images, and the total-variation
  distance between the two class distributions (0: the same class balance; mode dropping raises it).

:func:`ratio_interval` gives the relative sharpness a bootstrap interval over both image sets.
"""

from __future__ import annotations

import numpy as np

from kgen.evaluation.bootstrap import CONFIDENCE, REPLICATES, resample_counts, spread_interval

# A class counts as generated when its share among generated images is at least this fraction of its share
# among real images.
MIN_SHARE_RATIO = 0.5


def laplacian_variance(images):
    """The variance of the 4-neighbour Laplacian of each image, pixel values scaled to [0, 1] and colour
    channels averaged; the border pixels, which have no four neighbours, are left out.

    Args:
        images: uint8 ``[n, H, W]`` or ``[n, H, W, C]`` (H, W ≥ 3).

    Returns:
        float64 ``[n]``.
    """
    x = np.asarray(images, np.float64) / 255.0
    if x.ndim == 4:
        x = x.mean(axis=-1)
    if x.ndim != 3 or min(x.shape[1:]) < 3:
        raise ValueError(f"Expected images [n, H, W(, C)] with H, W >= 3; got shape {np.shape(images)}.")
    centre = x[:, 1:-1, 1:-1]
    laplacian = x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4.0 * centre
    return laplacian.reshape(len(x), -1).var(axis=1)


def ratio_interval(candidate, reference, replicates=REPLICATES, seed=0, confidence=CONFIDENCE):
    """``mean(candidate) / mean(reference)`` and its bootstrap interval (both sets resampled, as in
    :mod:`kgen.evaluation.bootstrap`): ``(value, [low, high] or None)``."""
    candidate, reference = np.asarray(candidate, np.float64), np.asarray(reference, np.float64)
    value = float(candidate.mean() / reference.mean())
    if not replicates:
        return value, None
    rng = np.random.default_rng(seed)
    numerators = resample_counts(len(candidate), replicates, rng) @ candidate / len(candidate)
    denominators = resample_counts(len(reference), replicates, rng) @ reference / len(reference)
    return value, spread_interval(value, numerators / denominators, confidence, (0.0, np.inf))


def class_shares(logits, num_classes=None):
    """The share of rows whose largest logit is each class: float64 ``[num_classes]`` (default: the
    logits' width)."""
    logits = np.asarray(logits)
    num_classes = int(num_classes or logits.shape[1])
    return np.bincount(np.argmax(logits, axis=1), minlength=num_classes)[:num_classes] / len(logits)


def class_coverage(candidate_logits, reference_logits, min_share_ratio=MIN_SHARE_RATIO):
    """How well a model's samples cover the classes of real images, by a classifier's decisions.

    Args:
        candidate_logits, reference_logits: ``[n, classes]`` logits of generated and of real images.
        min_share_ratio: a class is covered when its generated share is at least this times its real share.

    Returns:
        ``{"covered": classes covered, "classes": classes present among the real images,
        "total_variation": ½ Σ |generated share − real share|}``.
    """
    reference = class_shares(reference_logits)
    candidate = class_shares(candidate_logits, len(reference))
    present = reference > 0
    return {"covered": int(np.sum(candidate[present] >= min_share_ratio * reference[present])),
            "classes": int(np.sum(present)),
            "total_variation": float(0.5 * np.abs(candidate - reference).sum())}
