"""Sample-quality metrics as pure functions of feature arrays (TensorFlow, float64).

Nothing here knows where the features came from: InceptionV3 pool features and logits, kgen's
evaluator classifier, or anything else. Every function accepts NumPy arrays or tensors of shape
``[n, d]`` and returns Python floats.

* :func:`frechet_distance` / :func:`fid` — Heusel et al. 2017.
* :func:`kid` — Bińkowski et al. 2018: unbiased MMD² with the cubic polynomial kernel
  ``k(x, y) = (x·y / d + 1)³``, mean and standard deviation over random subsets.
* :func:`inception_score` — Salimans et al. 2016: ``exp E_x KL(p(y|x) ‖ p(y))`` from logits, mean
  and standard deviation over splits.
* :func:`precision_recall` — Kynkäänniemi et al. 2019: k-nearest-neighbour manifolds.
* :func:`class_agreement` — for class-conditional models: how often a classifier assigns each
  generated image the class it was requested for.

None of them depends on the order of the rows. Where a metric needs subsets (IS's splits, KID's
subsets, a capped precision/recall set), the rows are first put in :func:`content_order`, an order
given by a hash of each row's values: a class-conditional model's samples, which come out sorted by
class, get the same score as the same samples shuffled.

Large inputs are processed in row blocks, so memory stays ∝ ``block × n`` (never ``n × n``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import tensorflow as tf

DEFAULT_BLOCK = 1024  # rows per block of the streamed computations


def _as_features(x, name):
    x = tf.convert_to_tensor(x)
    if x.shape.rank != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d]; got shape {tuple(x.shape)}.")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows; got {x.shape[0]}.")
    return tf.cast(x, tf.float64)


def content_order(rows):
    """A permutation of the rows of ``rows`` that depends on their values only, not on their order.

    Rows are sorted by a hash (BLAKE2b) of their float64 bytes: the order looks random — it does not
    group similar rows, as sorting by value would — and any permutation of the input gives the same
    rows in the same order (identical rows are interchangeable).

    Args:
        rows: ``[n, d]`` array.

    Returns:
        int64 NumPy ``[n]``: ``rows[content_order(rows)]`` is the canonical order.

    Example:
        >>> x = np.random.rand(5, 3)
        >>> np.array_equal(x[content_order(x)], x[::-1][content_order(x[::-1])])
        True
    """
    x = np.ascontiguousarray(np.asarray(rows, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError(f"rows must be a 2-D array [n, d]; got shape {x.shape}.")
    keys = [hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in x]
    return np.array(sorted(range(len(keys)), key=lambda i: (keys[i], x[i].tobytes())), dtype=np.int64)


def canonical_rows(rows, m=None):
    """The first ``m`` rows (all by default) of ``rows`` in :func:`content_order`: a subset and an
    order that do not depend on how the rows were ordered."""
    order = content_order(rows)
    return np.asarray(rows)[order[:m] if m is not None else order]


def _canonical(x, name):
    """``x`` checked as features, its rows in :func:`content_order` (float64 tensor)."""
    x = _as_features(x, name)
    return tf.gather(x, content_order(x.numpy()))


def _same_width(a, b):
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"Feature sizes differ: {a.shape[1]} vs {b.shape[1]}; both sets need the same extractor.")


def feature_statistics(features, block=DEFAULT_BLOCK):
    """Mean and (unbiased, ``n - 1``) covariance of the rows of ``features``, streamed in blocks.

    The sums are taken around the first block's mean, which keeps float64 round-off small when the
    features' means are large compared with their spread.

    Args:
        features: ``[n, d]`` array, ``n ≥ 2``.
        block: rows per block.

    Returns:
        ``(mean [d], covariance [d, d])`` as float64 NumPy arrays.
    """
    x = _as_features(features, "features")
    n = int(x.shape[0])
    shift = tf.reduce_mean(x[:block], axis=0)
    total = tf.zeros_like(shift)
    outer = tf.zeros((x.shape[1], x.shape[1]), tf.float64)
    for start in range(0, n, block):
        centred = x[start:start + block] - shift
        total += tf.reduce_sum(centred, axis=0)
        outer += tf.matmul(centred, centred, transpose_a=True)
    mean_shifted = total / n
    cov = (outer - n * tf.tensordot(mean_shifted, mean_shifted, axes=0)) / (n - 1)
    return (mean_shifted + shift).numpy(), cov.numpy()


def _clean_spectrum(values):
    """Eigenvalues of a PSD matrix with round-off noise (|λ| ≤ d·ε·λ_max, negative ones included) set to 0.

    Without this, a singular covariance's zero eigenvalues come out as ±1e-16 and their square roots
    (≈1e-8 each) add up to a visible error.
    """
    tolerance = tf.reduce_max(tf.abs(values)) * tf.cast(tf.size(values), tf.float64) * np.finfo(np.float64).eps
    return tf.where(values > tolerance, values, tf.zeros_like(values))


def _psd_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix."""
    values, vectors = tf.linalg.eigh(matrix)
    return tf.matmul(vectors * tf.sqrt(_clean_spectrum(values)), vectors, transpose_b=True)


def frechet_distance(mean1, cov1, mean2, cov2):
    """Fréchet distance between the Gaussians N(mean1, cov1) and N(mean2, cov2).

    ``‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^½``. The trace of the matrix square root is computed
    as the sum of the square roots of the eigenvalues of the symmetric matrix ``Σ1^½ Σ2 Σ1^½`` (same
    spectrum as ``Σ1 Σ2``), which stays real and accurate for singular (rank-deficient) covariances,
    where a general ``sqrtm(Σ1 Σ2)`` becomes unstable.

    Args:
        mean1, mean2: ``[d]`` means.
        cov1, cov2: ``[d, d]`` symmetric positive semi-definite covariances.

    Returns:
        The distance (float, ≥ 0 up to round-off).
    """
    mean1, mean2 = (tf.cast(tf.convert_to_tensor(m), tf.float64) for m in (mean1, mean2))
    cov1, cov2 = (tf.cast(tf.convert_to_tensor(c), tf.float64) for c in (cov1, cov2))
    if cov1.shape != cov2.shape or mean1.shape != mean2.shape or cov1.shape[0] != mean1.shape[0]:
        raise ValueError(
            f"Statistics do not match: means {tuple(mean1.shape)}, {tuple(mean2.shape)}; "
            f"covariances {tuple(cov1.shape)}, {tuple(cov2.shape)}."
        )
    root1 = _psd_sqrt(cov1)
    middle = tf.matmul(tf.matmul(root1, cov2), root1)
    middle = 0.5 * (middle + tf.transpose(middle))
    trace_sqrt = tf.reduce_sum(tf.sqrt(_clean_spectrum(tf.linalg.eigvalsh(middle))))
    diff = mean1 - mean2
    distance = tf.tensordot(diff, diff, 1) + tf.linalg.trace(cov1) + tf.linalg.trace(cov2) - 2.0 * trace_sqrt
    return float(distance)


def fid(features1, features2):
    """Fréchet Inception Distance between two feature sets (any extractor's features).

    Example:
        >>> fid(np.random.rand(500, 8), np.random.rand(500, 8))  # doctest: +SKIP
        0.0029…
    """
    a, b = _as_features(features1, "features1"), _as_features(features2, "features2")
    _same_width(a, b)
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def polynomial_kernel(x, y):
    """The KID kernel ``(x·yᵀ / d + 1)³`` between the rows of ``x`` ``[m, d]`` and ``y`` ``[n, d]``."""
    d = tf.cast(tf.shape(x)[1], tf.float64)
    return (tf.matmul(x, y, transpose_b=True) / d + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased estimate of MMD² between the row sets ``x`` and ``y`` under :func:`polynomial_kernel`.

    ``Σ_{i≠j} k(x_i, x_j) / m(m−1) + Σ_{i≠j} k(y_i, y_j) / n(n−1) − 2 Σ k(x_i, y_j) / mn``.

    Returns:
        A float; may be slightly negative when the sets come from one distribution.
    """
    x, y = _as_features(x, "x"), _as_features(y, "y")
    _same_width(x, y)
    m, n = float(x.shape[0]), float(y.shape[0])
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (tf.reduce_sum(kxx) - tf.linalg.trace(kxx)) / (m * (m - 1.0))
    yy = (tf.reduce_sum(kyy) - tf.linalg.trace(kyy)) / (n * (n - 1.0))
    return float(xx + yy - 2.0 * tf.reduce_sum(kxy) / (m * n))


def kid_subsets(n1, n2, num_subsets=100, subset_size=1000, seed=0):
    """The row indices of KID's random subsets: each subset drawn without replacement from each set.

    Args:
        n1, n2: sizes of the two feature sets.
        num_subsets: number of subsets.
        subset_size: rows per subset, capped at ``min(n1, n2)``.
        seed: seed of NumPy's generator.

    Returns:
        A list of ``(indices1, indices2)`` pairs.
    """
    size = min(subset_size, n1, n2)
    rng = np.random.default_rng(seed)
    return [(rng.choice(n1, size, replace=False), rng.choice(n2, size, replace=False)) for _ in range(num_subsets)]


def kid(features1, features2, num_subsets=100, subset_size=1000, seed=0):
    """Kernel Inception Distance: unbiased MMD² over random subsets, its mean and standard deviation.

    Memory is ∝ ``subset_size²``, whatever the number of features. The subsets are drawn from the
    rows in :func:`content_order`, so the result does not depend on the rows' order.

    Args:
        features1, features2: ``[n1, d]`` and ``[n2, d]`` feature arrays.
        num_subsets: number of random subsets (Bińkowski et al. use 100 of 1,000).
        subset_size: rows per subset (capped at the smaller set's size).
        seed: seed of the subset draws.

    Returns:
        ``(mean, std)`` of MMD² over the subsets.
    """
    a, b = _canonical(features1, "features1"), _canonical(features2, "features2")
    _same_width(a, b)
    values = [
        mmd2_unbiased(tf.gather(a, i), tf.gather(b, j))
        for i, j in kid_subsets(int(a.shape[0]), int(b.shape[0]), num_subsets, subset_size, seed)
    ]
    return float(np.mean(values)), float(np.std(values))


def inception_score(logits, splits=10):
    """Inception Score ``exp(E_x KL(p(y|x) ‖ p(y)))`` from class logits, over ``splits`` splits.

    Args:
        logits: ``[n, classes]`` unnormalised log-probabilities (softmax is applied here, in
            float64 through a log-softmax, so no probability underflows).
        splits: number of splits; the score is computed on each. The rows are put in
            :func:`content_order` and cut into equal consecutive parts (as ``numpy.array_split``), so
            every split is a random-looking subset whatever the order of ``logits`` (a class-sorted
            input would otherwise put one class in each split and score near 1).

    Returns:
        ``(mean, std)`` over the splits.
    """
    log_p = tf.nn.log_softmax(_canonical(logits, "logits"), axis=1)
    n = int(log_p.shape[0])
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and the number of samples ({n}); got {splits}.")
    scores = []
    for part in np.array_split(np.arange(n), splits):
        part_log_p = tf.gather(log_p, part)
        log_marginal = tf.math.reduce_logsumexp(part_log_p, axis=0) - np.log(len(part))
        kl = tf.reduce_sum(tf.exp(part_log_p) * (part_log_p - log_marginal), axis=1)
        scores.append(float(tf.exp(tf.reduce_mean(kl))))
    return float(np.mean(scores)), float(np.std(scores))


def _squared_norms(x):
    return tf.reduce_sum(tf.square(x), axis=1)


def _squared_distances(a, b, b_norms):
    d = _squared_norms(a)[:, None] - 2.0 * tf.matmul(a, b, transpose_b=True) + b_norms[None, :]
    return tf.maximum(d, 0.0)


def knn_radii(features, k=3, block=DEFAULT_BLOCK):
    """Squared distance of each row to its k-th nearest other row (the radius of its k-NN ball).

    Args:
        features: ``[n, d]``, ``n > k``.
        k: neighbour rank (the row itself, at distance 0, is not counted).
        block: rows per block.

    Returns:
        float64 tensor ``[n]`` of squared radii.
    """
    x = _as_features(features, "features")
    if not 1 <= k < x.shape[0]:
        raise ValueError(f"k must be between 1 and n - 1 = {x.shape[0] - 1}; got {k}.")
    norms = _squared_norms(x)
    radii = []
    for start in range(0, int(x.shape[0]), block):
        d = _squared_distances(x[start:start + block], x, norms)
        # k + 1 smallest include the row itself (distance 0); the largest of them is the k-th neighbour.
        radii.append(-tf.math.top_k(-d, k=k + 1).values[:, -1])
    return tf.concat(radii, axis=0)


def manifold_coverage(manifold, radii, queries, block=DEFAULT_BLOCK):
    """Fraction of ``queries`` rows inside at least one k-NN ball of the ``manifold`` rows.

    Args:
        manifold: ``[n, d]`` rows defining the balls.
        radii: ``[n]`` squared radii (:func:`knn_radii`).
        queries: ``[m, d]`` rows to test.
        block: query rows per block.

    Returns:
        A float in [0, 1].
    """
    manifold, queries = _as_features(manifold, "manifold"), _as_features(queries, "queries")
    norms = _squared_norms(manifold)
    inside = 0
    for start in range(0, int(queries.shape[0]), block):
        d = _squared_distances(queries[start:start + block], manifold, norms)
        inside += int(tf.reduce_sum(tf.cast(tf.reduce_any(d <= radii[None, :], axis=1), tf.int64)))
    return inside / int(queries.shape[0])


def precision_recall(real, fake, k=3, block=DEFAULT_BLOCK):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Precision: the fraction of generated samples inside the real data's k-NN manifold (fidelity).
    Recall: the fraction of real samples inside the generated samples' manifold (diversity).

    Args:
        real, fake: ``[n, d]`` and ``[m, d]`` feature arrays.
        k: neighbourhood size (the paper uses 3).
        block: rows per block; memory ∝ ``block × max(n, m)``.

    Returns:
        ``(precision, recall)``.
    """
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    _same_width(real, fake)
    precision = manifold_coverage(real, knn_radii(real, k, block), fake, block)
    recall = manifold_coverage(fake, knn_radii(fake, k, block), real, block)
    return precision, recall


def class_agreement(logits, requested, num_classes):
    """Per-class accuracy of a classifier on class-conditional samples: for each class ``c``, the
    share of the images requested as ``c`` whose largest logit is ``c``.

    Args:
        logits: ``[n, num_classes]`` classifier logits of the generated images.
        requested: ``[n]`` the class each image was generated for.
        num_classes: number of classes.

    Returns:
        ``(per_class, overall)``: a list with the accuracy of each class (``None`` for a class no
        image was requested for), and the accuracy over all images.

    Example:
        >>> class_agreement([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]], [0, 0, 1], 2)
        ([0.5, 0.0], 0.3333333333333333)
    """
    logits = np.asarray(logits)
    requested = np.asarray(requested).reshape(-1)
    if logits.ndim != 2 or logits.shape[1] != num_classes or len(logits) != len(requested) or not len(requested):
        raise ValueError(f"Expected logits [n, {num_classes}] and n requested classes, n ≥ 1; got logits "
                         f"{logits.shape} and {requested.shape[0]} classes.")
    correct = np.argmax(logits, axis=1) == requested
    per_class = [float(np.mean(correct[requested == c])) if np.any(requested == c) else None
                 for c in range(num_classes)]
    return per_class, float(np.mean(correct))
