"""Statistics across the seeds of a study (pure functions): the Student-t interval of a mean, and Welch's
t-test of the difference between two models' means, which decides whether a study names a winner.

Student's t distribution is computed here from the regularised incomplete beta function
(``tf.math.betainc``); ``tests/test_compare.py`` checks it against SciPy.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from kgen.evaluation.bootstrap import CONFIDENCE


def student_t_tail(t, df):
    """P(T > |t|) for Student's t distribution with ``df`` (> 0, not necessarily integer) degrees of freedom."""
    t, df = abs(float(t)), float(df)
    if math.isinf(t):
        return 0.0
    return 0.5 * float(tf.math.betainc(tf.constant(df / 2, tf.float64), tf.constant(0.5, tf.float64),
                                       tf.constant(df / (df + t * t), tf.float64)))


def student_t_cdf(t, df):
    """P(T ≤ t) for Student's t distribution with ``df`` degrees of freedom."""
    tail = student_t_tail(t, df)
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p, df):
    """The ``p``-quantile (0 < p < 1) of Student's t distribution with ``df`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be between 0 and 1; got {p}.")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        low, high = high, 2.0 * high
    for _ in range(200):  # bisection to the float's resolution
        middle = 0.5 * (low + high)
        if middle in (low, high):
            break
        low, high = (middle, high) if student_t_cdf(middle, df) < p else (low, middle)
    return 0.5 * (low + high)


@dataclasses.dataclass
class MeanInterval:
    """The mean of per-seed values and its Student-t interval (``low``/``high`` ``None`` for one seed)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def interval(self):
        """``[low, high]`` or ``None``."""
        return None if self.low is None else [self.low, self.high]


def mean_interval(values, confidence=CONFIDENCE):
    """Mean of ``values`` (one per seed) with its ``confidence`` Student-t interval
    ``mean ± t_{(1+c)/2, n−1} · s / √n``; ``None`` for no values.

    Example:
        >>> m = mean_interval([10.3, 14.7, 12.0]); round(m.low, 2), round(m.high, 2)
        (6.82, 17.85)
    """
    values = np.asarray([v for v in values if v is not None], np.float64)
    if len(values) == 0:
        return None
    mean = float(np.mean(values))
    if len(values) < 2:
        return MeanInterval(mean, None, None, 1)
    half = student_t_quantile((1 + confidence) / 2, len(values) - 1) * float(np.std(values, ddof=1)) / math.sqrt(
        len(values))
    return MeanInterval(mean, mean - half, mean + half, len(values))


@dataclasses.dataclass
class WelchTest:
    """Welch's two-sided t-test of ``mean(a) − mean(b)`` and the interval of that difference.

    Attributes:
        difference: ``mean(a) − mean(b)``.
        low, high: its ``confidence`` interval ``difference ± t_{(1+c)/2, df} · se``.
        t, df, p: the statistic, Welch–Satterthwaite degrees of freedom and two-sided p-value.
    """

    difference: float
    low: float
    high: float
    t: float
    df: float
    p: float

    def significant(self, confidence=CONFIDENCE):
        """Whether the difference is real at level ``1 − confidence`` (``p < 1 − confidence``)."""
        return self.p < 1.0 - confidence


def welch_test(a, b, confidence=CONFIDENCE):
    """Welch's t-test of two groups of per-seed values (unequal variances), or ``None`` when either has
    fewer than two values."""
    return contrast_test([a, b], [1.0, -1.0], confidence)


def contrast_test(groups, weights, confidence=CONFIDENCE):
    """The t-test of a weighted sum of group means, ``Σ wᵢ · mean(groupᵢ)``, with unequal variances (Welch's
    test for two groups and weights 1, −1; with four groups and 1, −1, −1, 1 the difference between two
    effects, e.g. whether shifting the inputs costs a VAE more than a VAE-GAN), or ``None`` when a group
    has fewer than two values. Degrees of freedom by Welch–Satterthwaite."""
    groups = [np.asarray(g, np.float64) for g in groups]
    if any(len(g) < 2 for g in groups):
        return None
    parts = [w * w * np.var(g, ddof=1) / len(g) for g, w in zip(groups, weights)]
    difference = float(sum(w * np.mean(g) for g, w in zip(groups, weights)))
    se = math.sqrt(sum(parts))
    if se == 0.0:  # every group constant: the difference is exact
        return WelchTest(difference, difference, difference, math.copysign(math.inf, difference) if difference
                         else 0.0, math.inf, 0.0 if difference else 1.0)
    df = sum(parts) ** 2 / sum(v**2 / (len(g) - 1) for v, g in zip(parts, groups))
    t = difference / se
    half = student_t_quantile((1 + confidence) / 2, df) * se
    return WelchTest(difference, difference - half, difference + half, t, float(df), 2.0 * student_t_tail(t, df))
