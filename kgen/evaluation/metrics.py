"""Sample-quality metrics as pure functions of feature arrays (TensorFlow, float64).

Nothing here knows where the features came from: InceptionV3 pool features and logits, kgen's
evaluator classifier, or anything else. Every function accepts NumPy arrays or tensors of shape
``[n, d]`` and returns Python floats.

* :func:`frechet_distance` / :func:`fid` — Heusel et al. 2017.
* :func:`kid` — Bińkowski et al. 2018: the unbiased MMD² with the cubic polynomial kernel
  ``k(x, y) = (x·y / d + 1)³`` over all pairs of rows (the mean over random subsets of 1,000 that
  Bińkowski et al. and torch-fidelity report estimates the same quantity, with more noise).
* :func:`inception_score` — Salimans et al. 2016: ``exp E_x KL(p(y|x) ‖ p(y))`` from logits, mean
  and standard deviation over splits.
* :func:`precision_recall` — Kynkäänniemi et al. 2019: k-nearest-neighbour manifolds.
* :func:`class_agreement` — for class-conditional models: how often a classifier assigns each
  generated image the class it was requested for.

None of them depends on the order of the rows. Where a metric needs subsets (IS's splits, a capped
precision/recall set) or sums whose rounding depends on the order, the rows are first put in
:func:`content_order`, an order given by a hash of each row's values: a class-conditional model's
samples, which come out sorted by class, get the same score as the same samples shuffled.

Every metric also takes *resampling counts* (how often each row is drawn in a bootstrap resample; see
:mod:`kgen.evaluation.bootstrap`): :func:`feature_statistics` weights, :func:`kernel_mmd2`,
:func:`inception_score_of_rows` and :class:`KnnManifold` compute many resamples from one pass over
the features.

Large inputs are processed in row blocks, so memory stays ∝ ``block × n`` (never ``n × n``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import tensorflow as tf

DEFAULT_BLOCK = 1024  # rows per block of the streamed computations
RESAMPLED_ENTRIES = 1 << 24  # float64 entries of one step of a resampled computation (128 MiB)


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


def feature_statistics(features, block=DEFAULT_BLOCK, counts=None):
    """Mean and (unbiased, ``n - 1``) covariance of the rows of ``features``, streamed in blocks.

    The sums are taken around the first block's mean, which keeps float64 round-off small when the
    features' means are large compared with their spread.

    Args:
        features: ``[n, d]`` array, ``n ≥ 2``.
        block: rows per block.
        counts: ``[n]`` non-negative integers: row ``i`` counts ``counts[i]`` times (a bootstrap
            resample); ``None`` counts every row once. ``[B, n]`` gives the statistics of ``B``
            resamples at once.

    Returns:
        ``(mean [d], covariance [d, d])`` as float64 NumPy arrays (``[B, d]`` and ``[B, d, d]`` for
        ``[B, n]`` counts).
    """
    x = _as_features(features, "features")
    n, d = int(x.shape[0]), int(x.shape[1])
    weights = _count_matrix(counts, n)
    resamples = int(weights.shape[0])
    group = max(1, RESAMPLED_ENTRIES // (d * d))  # resamples whose d × d sums are kept at once
    rows = max(1, RESAMPLED_ENTRIES // (min(group, resamples) * d))  # rows per block of those resamples
    shift = tf.reduce_mean(x[:block], axis=0)
    means, covariances = [], []
    for first in range(0, resamples, group):
        w = weights[first:first + group]
        total = tf.zeros((w.shape[0], d), tf.float64)
        outer = tf.zeros((w.shape[0], d, d), tf.float64)
        for start in range(0, n, min(block, rows)):
            centred = x[start:start + min(block, rows)] - shift
            weighted = w[:, start:start + min(block, rows), None] * centred[None]
            total += tf.reduce_sum(weighted, axis=1)
            outer += tf.einsum("bnd,ne->bde", weighted, centred)
        size = tf.reduce_sum(w, axis=1)
        mean_shifted = total / size[:, None]
        covariances.append(((outer - size[:, None, None] * mean_shifted[:, :, None] * mean_shifted[:, None, :])
                            / (size - 1)[:, None, None]).numpy())
        means.append((mean_shifted + shift).numpy())
    mean, cov = np.concatenate(means), np.concatenate(covariances)
    return (mean, cov) if counts is not None and np.ndim(counts) == 2 else (mean[0], cov[0])


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


def kernel_mmd2(x, y, x_counts=None, y_counts=None, block=DEFAULT_BLOCK):
    """Unbiased MMD² between the rows of ``x`` and ``y`` under :func:`polynomial_kernel`, for one or
    many resamples of the rows at once.

    With row ``i`` of ``x`` counted ``u_i`` times and row ``j`` of ``y`` counted ``v_j`` times, the
    estimate uses every pair of *different* rows (copies of one row are never paired with each other,
    so a resample keeps the estimator unbiased)::

        Σ_{i≠i'} u_i u_i' k(x_i, x_i') / ((Σu)² − Σu²) + (the same for y) − 2 Σ u_i v_j k(x_i, y_j) / (Σu Σv)

    The kernel matrices are never stored: each block of rows is multiplied into the counts.

    Args:
        x, y: ``[m, d]`` and ``[n, d]`` feature arrays.
        x_counts, y_counts: ``[m]`` / ``[n]`` counts, or ``[B, m]`` / ``[B, n]`` for ``B`` resamples
            (``None``: every row once).
        block: rows per block; memory ∝ ``block × max(m, n)``.

    Returns:
        float64 NumPy ``[B]`` (``[1]`` without resamples); may be slightly negative when both sets come
        from one distribution.
    """
    x, y = _as_features(x, "x"), _as_features(y, "y")
    _same_width(x, y)
    u = _count_matrix(x_counts, int(x.shape[0]))
    v = _count_matrix(y_counts, int(y.shape[0]))
    if u.shape[0] != v.shape[0]:
        raise ValueError(f"x_counts and y_counts must hold as many resamples; got {u.shape[0]} and {v.shape[0]}.")

    def quadratic(a, wa, b, wb):  # Σ_ij wa_i k(a_i, b_j) wb_j and Σ_i wa_i wb_i k(a_i, b_i) (for a is b), per resample
        full = tf.zeros([wa.shape[0]], tf.float64)
        diagonal = tf.zeros([wa.shape[0]], tf.float64)
        for start in range(0, int(a.shape[0]), block):
            kernel = polynomial_kernel(a[start:start + block], b)
            rows = wa[:, start:start + block]
            full += tf.reduce_sum(rows * tf.transpose(tf.matmul(kernel, wb, transpose_b=True)), axis=1)
            if a is b:
                own = tf.linalg.diag_part(kernel[:, start:start + block])
                diagonal += tf.reduce_sum(rows * wb[:, start:start + block] * own, axis=1)
        return full, diagonal

    def within(a, w):
        full, diagonal = quadratic(a, w, a, w)
        total = tf.reduce_sum(w, axis=1)
        return (full - diagonal) / (total**2 - tf.reduce_sum(w**2, axis=1))

    cross, _ = quadratic(x, u, y, v)
    between = cross / (tf.reduce_sum(u, axis=1) * tf.reduce_sum(v, axis=1))
    return (within(x, u) + within(y, v) - 2.0 * between).numpy()


def _count_matrix(counts, n):
    """Counts as a float64 ``[B, n]`` tensor (``None``: one resample of every row once)."""
    if counts is None:
        return tf.ones([1, n], tf.float64)
    counts = tf.cast(tf.convert_to_tensor(counts), tf.float64)
    counts = counts[None] if counts.shape.rank == 1 else counts
    if counts.shape.rank != 2 or counts.shape[1] != n:
        raise ValueError(f"Expected counts [n] or [B, n] with n = {n}; got shape {tuple(counts.shape)}.")
    return counts


def mmd2_unbiased(x, y):
    """Unbiased estimate of MMD² between the row sets ``x`` and ``y`` under :func:`polynomial_kernel`:
    ``Σ_{i≠j} k(x_i, x_j) / m(m−1) + Σ_{i≠j} k(y_i, y_j) / n(n−1) − 2 Σ k(x_i, y_j) / mn``.

    Returns:
        A float; may be slightly negative when the sets come from one distribution.
    """
    return float(kernel_mmd2(x, y)[0])


def kid(features1, features2):
    """Kernel Inception Distance: the unbiased MMD² between two feature sets over all pairs of rows
    (:func:`kernel_mmd2`), with the rows in :func:`content_order` so the sums' rounding does not depend
    on the rows' order. Memory ∝ ``DEFAULT_BLOCK × n``.

    Args:
        features1, features2: ``[n1, d]`` and ``[n2, d]`` feature arrays.

    Returns:
        The estimate (float).
    """
    a, b = _canonical(features1, "features1"), _canonical(features2, "features2")
    _same_width(a, b)
    return mmd2_unbiased(a, b)


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
        ``(mean, std)`` over the splits (the spread of the splits, not an interval: see
        :mod:`kgen.evaluation.bootstrap`).
    """
    log_p = log_probabilities(logits)
    scores = split_scores(log_p, np.arange(int(log_p.shape[0])), splits)
    return float(np.mean(scores)), float(np.std(scores))


def log_probabilities(logits):
    """float64 log-softmax of ``logits`` ``[n, classes]``, the rows in :func:`content_order`: what
    :func:`inception_score_of_rows` takes."""
    return tf.nn.log_softmax(_canonical(logits, "logits"), axis=1)


def split_scores(log_p, rows, splits=10):
    """The Inception Score of each of ``splits`` consecutive parts of ``log_p[rows]``.

    Args:
        log_p: ``[n, classes]`` log-probabilities (:func:`log_probabilities`).
        rows: indices into ``log_p`` in ascending order (a bootstrap resample repeats some).
        splits: number of parts.

    Returns:
        A list of ``splits`` floats.
    """
    n = len(rows)
    if not 1 <= splits <= n:
        raise ValueError(f"splits must be between 1 and the number of samples ({n}); got {splits}.")
    scores = []
    for part in np.array_split(np.asarray(rows), splits):
        part_log_p = tf.gather(log_p, part)
        log_marginal = tf.math.reduce_logsumexp(part_log_p, axis=0) - np.log(len(part))
        kl = tf.reduce_sum(tf.exp(part_log_p) * (part_log_p - log_marginal), axis=1)
        scores.append(float(tf.exp(tf.reduce_mean(kl))))
    return scores


def inception_score_of_rows(log_p, counts, splits=10):
    """The Inception Score (mean over ``splits`` splits) of each resample of the rows of ``log_p``.

    Args:
        log_p: ``[n, classes]`` from :func:`log_probabilities`.
        counts: ``[B, n]``: how often each row is drawn in each resample.
        splits: splits per score.

    Returns:
        float64 NumPy ``[B]``.
    """
    n = int(log_p.shape[0])
    return np.array([np.mean(split_scores(log_p, np.repeat(np.arange(n), row), splits))
                     for row in np.asarray(counts, dtype=np.int64)])


NEIGHBOURS = 16  # nearest other rows a KnnManifold keeps per row (a resample's radius almost always lies among them)


def _squared_distances(queries, manifold, block=DEFAULT_BLOCK):
    """Yield ``(start, float64 [b, n] squared distances)`` of each block of ``queries`` to every row of
    ``manifold``."""
    norms = np.sum(manifold**2, axis=1)
    for start in range(0, len(queries), block):
        part = queries[start:start + block]
        d = np.sum(part**2, axis=1)[:, None] - 2.0 * part @ manifold.T + norms[None, :]
        yield start, np.maximum(d, 0.0)


class KnnManifold:
    """The k-nearest-neighbour manifold of a feature set (Kynkäänniemi et al. 2019): the union of the
    balls around each row reaching its k-th nearest other row, for the set itself and for bootstrap
    resamples of it, computed from one pass over the distances.

    In a resample, a row drawn ``c`` times is ``c`` points at one place: its ball reaches the k-th
    nearest point among the *other* rows' copies (its own copies are not its neighbours), and a row
    not drawn has no ball.

    Args:
        features: ``[n, d]``, ``n > k``.
        k: neighbour rank.
        block: rows per block of the distance computations.
        neighbours: nearest other rows kept per row; a resample's radius lies beyond them only when
            fewer than ``k`` of those rows were drawn (then it is computed from all rows).
    """

    def __init__(self, features, k=3, block=DEFAULT_BLOCK, neighbours=NEIGHBOURS):
        self.x = _as_features(features, "features").numpy()
        n = len(self.x)
        if not 1 <= k < n:
            raise ValueError(f"k must be between 1 and n - 1 = {n - 1}; got {k}.")
        self.k, self.block = k, block
        size = min(max(neighbours, k), n - 1)
        self.neighbour_index = np.empty((n, size), np.int64)
        self.neighbour_d2 = np.empty((n, size))
        for start, d in _squared_distances(self.x, self.x, block):
            rows = np.arange(len(d))
            d[rows, start + rows] = np.inf  # a row is not its own neighbour
            nearest = np.argpartition(d, size - 1, axis=1)[:, :size]
            order = np.argsort(np.take_along_axis(d, nearest, axis=1), axis=1, kind="stable")
            rows_index = np.take_along_axis(nearest, order, axis=1)
            self.neighbour_index[start:start + len(d)] = rows_index
            self.neighbour_d2[start:start + len(d)] = np.take_along_axis(d, rows_index, axis=1)

    def __len__(self):
        return len(self.x)

    def radii(self, counts=None):
        """Squared radius of each row's ball: ``[n]`` (``inf`` where fewer than k other points exist).

        Args:
            counts: ``[n]`` resampling counts (``None``: every row once).
        """
        if counts is None:
            return self.neighbour_d2[:, self.k - 1].copy()
        counts = np.asarray(counts, np.int64)
        cumulative = np.cumsum(counts[self.neighbour_index], axis=1)
        reached = cumulative[:, -1] >= self.k
        position = np.argmax(cumulative >= self.k, axis=1)
        radii = np.take_along_axis(self.neighbour_d2, position[:, None], axis=1)[:, 0]
        for i in np.flatnonzero(~reached & (counts > 0)):  # rare: fewer than k drawn among the nearest rows
            radii[i] = self._radius_from_all_rows(i, counts)
        return radii

    def _radius_from_all_rows(self, i, counts):
        d = next(_squared_distances(self.x[i:i + 1], self.x))[1][0]
        others = np.arange(len(self.x)) != i
        order = np.argsort(d[others], kind="stable")
        cumulative = np.cumsum(counts[others][order])
        if cumulative[-1] < self.k:
            return np.inf
        return d[others][order][np.argmax(cumulative >= self.k)]

    def candidates(self, queries):
        """The query–row pairs that can be inside a ball in any resample: ``(query index, row index,
        squared distance)`` with the distance within the row's widest precomputed radius.

        Args:
            queries: ``[m, d]`` feature array.
        """
        queries = _as_features(queries, "queries").numpy()
        widest = self.neighbour_d2[:, -1]
        q, j, d2 = [], [], []
        for start, d in _squared_distances(queries, self.x, self.block):
            rows, cols = np.nonzero(d <= widest[None, :])
            q.append(rows + start)
            j.append(cols)
            d2.append(d[rows, cols])
        return np.concatenate(q), np.concatenate(j), np.concatenate(d2)

    def coverage(self, queries, manifold_counts=None, query_counts=None, pairs=None):
        """Share of the query points inside the manifold, for each resample.

        Args:
            queries: ``[m, d]`` feature array.
            manifold_counts: ``[B, n]`` resampling counts of this set's rows (``None``: one, every row once).
            query_counts: ``[B, m]`` resampling counts of the queries (``None``: every query once).
            pairs: :meth:`candidates` of ``queries`` (computed when not given).

        Returns:
            float64 NumPy ``[B]``: the count-weighted share of queries inside at least one ball.
        """
        queries = _as_features(queries, "queries").numpy()
        q, j, d2 = pairs if pairs is not None else self.candidates(queries)
        n, m = len(self.x), len(queries)
        manifold_counts = np.ones((1, n), np.int64) if manifold_counts is None else np.atleast_2d(manifold_counts)
        query_counts = np.ones((len(manifold_counts), m), np.int64) if query_counts is None \
            else np.atleast_2d(query_counts)
        widest = self.neighbour_d2[:, -1]
        shares = []
        for rows_drawn, queries_drawn in zip(manifold_counts, query_counts):
            radii = self.radii(rows_drawn)
            present = rows_drawn > 0
            inside = np.zeros(m, bool)
            inside[q[present[j] & (d2 <= radii[j])]] = True
            for row in np.flatnonzero(present & (radii > widest)):  # balls wider than the candidates cover
                inside |= next(_squared_distances(self.x[row:row + 1], queries))[1][0] <= radii[row]
            shares.append(float(np.sum(queries_drawn * inside)) / float(np.sum(queries_drawn)))
        return np.array(shares)


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
    precision = KnnManifold(real, k, block).coverage(fake)[0]
    recall = KnnManifold(fake, k, block).coverage(real)[0]
    return float(precision), float(recall)


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
