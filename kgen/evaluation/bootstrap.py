"""Intervals for sample metrics from bootstrap resamples of the images (pure functions of feature arrays).

A metric computed from ``n`` generated and ``m`` reference images would come out differently for another
draw of as many images. :func:`bootstrap_scores` measures by how much: it draws ``B`` resamples of each
set (rows with replacement, as many as the set holds), computes every metric on each pair of
resamples, and gives the spread of those values as an interval around the measured value.

The interval is the bootstrap's central ``confidence`` range *re-centred on the measured value*
(:func:`spread_interval`): a resample of ``n`` images holds only about 0.63·n different ones, so a
metric with a finite-sample bias (FID, KID's spread, precision/recall's k-NN radii) is biased once more
in the resamples and their values sit off the measured one; their spread is still the sampling
spread. The interval says how far the value of another draw of images of the same sizes could fall; it
says nothing about another training seed (a study's interval across seeds does).

The resampled metrics are computed from one pass over the features (:mod:`kgen.evaluation.metrics`:
weighted statistics for FID, count-weighted kernel sums for KID, resampled splits for IS, and k-NN
balls of resampled sets for precision and recall), so the interval costs about what the metric costs.
"""

from __future__ import annotations

import numpy as np

from kgen.evaluation import metrics as metric_math

REPLICATES = 100  # bootstrap resamples per interval
CONFIDENCE = 0.95
# The values a metric can take: a re-centred interval is cut to them (KID, an unbiased estimate, has no bound).
RANGES = {"fid": (0.0, np.inf), "is": (1.0, np.inf), "precision": (0.0, 1.0), "recall": (0.0, 1.0),
          "sharpness": (0.0, np.inf), "classes_covered": (0.0, np.inf), "class_tv": (0.0, 1.0)}


def resample_counts(n, replicates, rng):
    """How often each of ``n`` rows is drawn in each of ``replicates`` bootstrap resamples of size ``n``:
    int64 ``[replicates, n]``, each row summing to ``n``."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.int64)


def with_point(counts):
    """``counts`` with a first row of ones (every row once: the measured value) on top."""
    return np.vstack([np.ones((1, counts.shape[1]), np.int64), counts])


def spread_interval(point, replicates, confidence=CONFIDENCE, bounds=(-np.inf, np.inf)):
    """The bootstrap's central ``confidence`` range of ``replicates``, re-centred on ``point``.

    ``[point − (median − q_low), point + (q_high − median)]`` with ``q_low``, ``q_high`` the
    ``(1 ∓ confidence) / 2`` quantiles of ``replicates`` (see the module docstring for why it is
    re-centred), cut to ``bounds``, the values the metric can take. Non-finite replicates are ignored.

    Returns:
        ``[low, high]`` (floats), or ``None`` when fewer than two replicates are finite.
    """
    values = np.asarray(replicates, np.float64)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    low, median, high = np.quantile(values, [(1 - confidence) / 2, 0.5, (1 + confidence) / 2])
    return [float(max(point - (median - low), bounds[0])), float(min(point + (high - median), bounds[1]))]


def bootstrap_scores(candidate, reference, names, replicates=REPLICATES, seed=0, splits=10, k=3,
                     confidence=CONFIDENCE):
    """Every metric of ``names`` for a candidate feature set against a reference set, with its interval.

    Args:
        candidate, reference: objects with ``features`` ``[n, d]`` and ``logits`` ``[n, classes]`` arrays
            (e.g. :class:`kgen.evaluation.features.FeatureSet`), the rows in any order.
        names: metrics among ``fid``, ``is``, ``kid``, ``pr``.
        replicates: bootstrap resamples (0: values without intervals).
        seed: seed of the resamples.
        splits: IS splits (at most the number of candidate rows).
        k: precision/recall's neighbour rank.
        confidence: the intervals' coverage.

    Returns:
        ``{name: {"value": v, "interval": [low, high] or None}}`` with ``precision`` and ``recall`` for ``pr``.
    """
    rng = np.random.default_rng(seed)

    def counts(n):
        return with_point(resample_counts(n, replicates, rng))

    def entry(values, name):
        return {"value": float(values[0]),
                "interval": spread_interval(values[0], values[1:], confidence, RANGES.get(name, (-np.inf, np.inf)))}

    # Rows in content order: the resamples, like the values, do not depend on the order of the images.
    features = metric_math.canonical_rows(candidate.features)
    reference_features = metric_math.canonical_rows(reference.features)
    out = {}
    if "fid" in names:
        means, covariances = metric_math.feature_statistics(features, counts=counts(len(features)))
        reference_means, reference_covariances = metric_math.feature_statistics(
            reference_features, counts=counts(len(reference_features)))
        out["fid"] = entry([metric_math.frechet_distance(*statistics) for statistics in
                            zip(means, covariances, reference_means, reference_covariances)], "fid")
    if "is" in names:
        log_p = metric_math.log_probabilities(candidate.logits)
        out["is"] = entry(metric_math.inception_score_of_rows(log_p, counts(int(log_p.shape[0])),
                                                              min(splits, int(log_p.shape[0]))), "is")
    if "kid" in names:
        out["kid"] = entry(metric_math.kernel_mmd2(features, reference_features, counts(len(features)),
                                                   counts(len(reference_features))), "kid")
    if "pr" in names:
        # Equal set sizes, as Kynkäänniemi et al.; the larger set's subset is chosen by content, not by position.
        m = min(len(features), len(reference_features))
        real, fake = reference_features[:m], features[:m]
        real_counts, fake_counts = counts(m), counts(m)
        real_manifold, fake_manifold = metric_math.KnnManifold(real, k), metric_math.KnnManifold(fake, k)
        out["precision"] = entry(real_manifold.coverage(fake, real_counts, fake_counts), "precision")
        out["recall"] = entry(fake_manifold.coverage(real, fake_counts, real_counts), "recall")
    return out
