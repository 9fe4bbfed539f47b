"""Metric math against independent NumPy / SciPy computations on the same features."""

import numpy as np
import pytest
import scipy.linalg
import scipy.spatial.distance
import scipy.special
import scipy.stats

from kgen.evaluation import bootstrap, likelihood, metrics

RTOL = 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def fid_reference(a, b):
    """The classic formula with scipy.linalg.sqrtm of Σ1·Σ2 (as pytorch-fid and TF-GAN compute it)."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def psd_root(m):
    w, v = scipy.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def fid_nuclear_reference(a, b):
    """tr (Σ1 Σ2)^½ = ‖Σ1^½ Σ2^½‖_* (sum of singular values): exact for singular covariances too."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    nuclear = np.linalg.svd(psd_root(s1) @ psd_root(s2), compute_uv=False).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * nuclear)


def test_feature_statistics_match_numpy_with_blocks_and_a_large_mean():
    x = rng().normal(size=(1001, 7)) * 0.01 + 1000.0  # large mean, small spread: a round-off trap
    mean, cov = metrics.feature_statistics(x, block=100)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), rtol=1e-6, atol=1e-14)


def test_fid_matches_scipy_sqrtm_on_random_features():
    a, b = rng(1).normal(size=(400, 16)), rng(2).normal(size=(300, 16)) * 1.3 + 0.2
    assert metrics.fid(a, b) == pytest.approx(fid_reference(a, b), rel=RTOL)


def test_fid_of_identical_sets_is_zero():
    a = rng(3).normal(size=(200, 10))
    assert abs(metrics.fid(a, a)) < 1e-9


def test_fid_of_shifted_sets_is_the_squared_shift():
    a = rng(4).normal(size=(300, 6))
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 0.25])
    assert metrics.fid(a, a + shift) == pytest.approx(float(shift @ shift), rel=RTOL)


def test_fid_with_rank_deficient_covariances():
    # 5 samples in 12 dimensions, and features living in a 3-D subspace: both covariances are singular.
    basis = rng(5).normal(size=(3, 12))
    a = rng(6).normal(size=(5, 12))
    b = rng(7).normal(size=(200, 3)) @ basis
    c = rng(8).normal(size=(150, 3)) @ basis + 0.1
    assert metrics.fid(a, b) == pytest.approx(fid_nuclear_reference(a, b), rel=RTOL)
    assert metrics.fid(b, c) == pytest.approx(fid_nuclear_reference(b, c), rel=RTOL)
    assert abs(metrics.fid(b, b)) < 1e-9


def test_frechet_distance_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="do not match"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def mmd2_reference(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * k(x, y).mean())


def test_kid_is_the_unbiased_mmd2_over_all_pairs():
    a, b = rng(9).normal(size=(120, 8)), rng(10).normal(size=(90, 8)) + 0.3
    assert metrics.kid(a, b) == pytest.approx(mmd2_reference(a, b), rel=RTOL)
    assert metrics.kid(a, b) > 0
    assert metrics.mmd2_unbiased(a, b) == pytest.approx(mmd2_reference(a, b), rel=RTOL)
    # blocks smaller than the sets give the same sums
    assert metrics.kernel_mmd2(a, b, block=7)[0] == pytest.approx(mmd2_reference(a, b), rel=RTOL)


def resampled_mmd2_reference(x, y, x_counts, y_counts):
    """MMD² of a resample written out: every drawn copy is a row, and copies of one original row are
    never paired with each other (the pairs of the U-statistic are pairs of different rows)."""
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    xi, yi = np.repeat(np.arange(len(x)), x_counts), np.repeat(np.arange(len(y)), y_counts)

    def within(rows, index):
        kernel, different = k(rows, rows), index[:, None] != index[None, :]
        return kernel[different].sum() / different.sum()

    return within(x[xi], xi) + within(y[yi], yi) - 2 * k(x[xi], y[yi]).mean()


def test_kernel_mmd2_of_resamples_matches_the_resamples_written_out():
    a, b = rng(9).normal(size=(40, 5)), rng(10).normal(size=(30, 5)) + 0.3
    g = rng(11)
    a_counts, b_counts = g.multinomial(40, np.ones(40) / 40, size=3), g.multinomial(30, np.ones(30) / 30, size=3)
    got = metrics.kernel_mmd2(a, b, a_counts, b_counts, block=16)
    expected = [resampled_mmd2_reference(a, b, u, v) for u, v in zip(a_counts, b_counts)]
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    with pytest.raises(ValueError, match="as many resamples"):
        metrics.kernel_mmd2(a, b, a_counts, b_counts[:2])


def test_kid_of_one_distribution_is_near_zero():
    a = rng(11).normal(size=(2000, 4))
    assert abs(metrics.kid(a[:1000], a[1000:])) < 0.01
    assert abs(metrics.mmd2_unbiased(a[:1000], a[1000:])) < 0.01


def test_feature_statistics_of_a_resample_are_those_of_the_rows_it_repeats():
    x = rng(12).normal(size=(50, 4)) + 100.0
    counts = rng(13).multinomial(50, np.ones(50) / 50)
    mean, cov = metrics.feature_statistics(x, block=16, counts=counts)
    repeated = np.repeat(x, counts, axis=0)
    np.testing.assert_allclose(mean, repeated.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(repeated, rowvar=False), rtol=1e-9, atol=1e-12)


def inception_score_reference(logits, splits):
    p = scipy.special.softmax(logits, axis=1)
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0)
        scores.append(np.exp(np.mean([scipy.stats.entropy(row, py) for row in part])))
    return np.mean(scores), np.std(scores)


def test_inception_score_matches_scipy():
    logits = rng(12).normal(size=(103, 10)) * 3
    mean, std = metrics.inception_score(logits, splits=4)
    # The splits are consecutive parts of the rows in their content order.
    ref_mean, ref_std = inception_score_reference(logits[metrics.content_order(logits)], 4)
    assert mean == pytest.approx(ref_mean, rel=RTOL)
    assert std == pytest.approx(ref_std, rel=RTOL)


def test_inception_score_bounds():
    confident = np.eye(10)[np.arange(100) % 10] * 100.0  # one sure class each, all classes equally often
    assert metrics.inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    same = np.tile(rng(13).normal(size=(1, 10)), (50, 1))  # every image gets the same distribution
    assert metrics.inception_score(same, splits=2)[0] == pytest.approx(1.0, rel=1e-9)


def precision_recall_reference(real, fake, k):
    def radii(x):
        d = scipy.spatial.distance.cdist(x, x)
        return np.sort(d, axis=1)[:, k]  # column 0 is the point itself

    def coverage(manifold, r, queries):
        return float((scipy.spatial.distance.cdist(queries, manifold) <= r[None, :]).any(axis=1).mean())

    return coverage(real, radii(real), fake), coverage(fake, radii(fake), real)


@pytest.mark.parametrize("block", [7, 1024])
def test_precision_recall_matches_scipy(block):
    real = rng(14).normal(size=(150, 5))
    fake = rng(15).normal(size=(120, 5)) * 0.6 + 0.8
    got = metrics.precision_recall(real, fake, k=3, block=block)
    expected = precision_recall_reference(real, fake, 3)
    assert got == pytest.approx(expected, rel=RTOL)
    assert 0 < got[0] < 1 and 0 < got[1] < 1


def test_precision_recall_of_identical_sets_is_one():
    a = rng(16).normal(size=(80, 4))
    assert metrics.precision_recall(a, a, k=3) == (1.0, 1.0)


def test_precision_recall_of_far_apart_sets_is_zero():
    a = rng(17).normal(size=(60, 4))
    assert metrics.precision_recall(a, a + 100.0, k=3) == (0.0, 0.0)


def test_inception_score_of_resampled_rows_matches_scipy_on_the_rows_written_out():
    logits = rng(18).normal(size=(60, 5)) * 3
    counts = rng(19).multinomial(60, np.ones(60) / 60, size=2)
    got = metrics.inception_score_of_rows(metrics.log_probabilities(logits), counts, splits=3)
    canonical = logits[metrics.content_order(logits)]  # a resample keeps the content order, copies side by side
    expected = [inception_score_reference(np.repeat(canonical, c, axis=0), 3)[0] for c in counts]
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    assert metrics.inception_score_of_rows(metrics.log_probabilities(logits), np.ones((1, 60)), 3)[0] \
        == pytest.approx(metrics.inception_score(logits, 3)[0], rel=1e-12)


def resampled_radii_reference(x, counts, k):
    """Each drawn row's squared distance to the k-th nearest drawn copy of another row (inf if fewer)."""
    d = scipy.spatial.distance.cdist(x, x, "sqeuclidean")
    radii = np.full(len(x), np.nan)
    for i in np.flatnonzero(counts):
        others = np.repeat(np.delete(d[i], i), np.delete(counts, i))
        radii[i] = np.sort(others)[k - 1] if len(others) >= k else np.inf
    return radii


def resampled_coverage_reference(manifold, manifold_counts, queries, query_counts, k):
    radii = resampled_radii_reference(manifold, manifold_counts, k)
    d = scipy.spatial.distance.cdist(queries, manifold, "sqeuclidean")
    drawn = manifold_counts > 0
    inside = (d[:, drawn] <= radii[None, drawn]).any(axis=1)
    return float((query_counts * inside).sum() / query_counts.sum())


@pytest.mark.parametrize("neighbours", [3, 16])
def test_knn_manifold_of_resamples_matches_the_resamples_written_out(neighbours):
    # neighbours=3 (= k): most resampled radii lie beyond the kept neighbours and take the exact path.
    real = rng(20).normal(size=(70, 3))
    fake = rng(21).normal(size=(60, 3)) * 0.7 + 1.5
    g = rng(22)
    real_counts, fake_counts = g.multinomial(70, np.ones(70) / 70, size=4), g.multinomial(60, np.ones(60) / 60, size=4)
    manifold = metrics.KnnManifold(real, k=3, block=16, neighbours=neighbours)
    for counts in real_counts:
        drawn = counts > 0
        np.testing.assert_allclose(manifold.radii(counts)[drawn],
                                   resampled_radii_reference(real, counts, 3)[drawn], rtol=1e-9)
    got = manifold.coverage(fake, real_counts, fake_counts)
    expected = [resampled_coverage_reference(real, rc, fake, fc, 3) for rc, fc in zip(real_counts, fake_counts)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert 0 < min(got) < max(got) < 1  # resamples differ, and the share is not trivially 0 or 1


def test_a_row_drawn_with_too_few_other_points_covers_everything():
    x = rng(23).normal(size=(5, 2))
    counts = np.array([3, 1, 1, 0, 0])  # row 0 has 2 other points < k = 3
    radii = metrics.KnnManifold(x, k=3).radii(counts)
    assert radii[0] == np.inf and np.isfinite(radii[1])


@pytest.mark.parametrize("bad", [np.zeros(5), np.zeros((1, 3))])
def test_metrics_reject_bad_shapes(bad):
    with pytest.raises(ValueError, match="2-D|at least 2"):
        metrics.fid(bad, np.zeros((4, 3)))


def test_metrics_reject_different_feature_sizes():
    with pytest.raises(ValueError, match="Feature sizes differ"):
        metrics.kid(np.zeros((4, 3)), np.zeros((4, 2)))


def test_gaussian_log_densities_match_scipy():
    z, mean, log_var = rng(18).normal(size=(2, 3, 4)), rng(19).normal(size=(3, 4)), rng(20).normal(size=(3, 4))
    expected = scipy.stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(-1)
    np.testing.assert_allclose(likelihood.gaussian_log_density(z, mean, log_var), expected, rtol=RTOL)
    np.testing.assert_allclose(likelihood.standard_normal_log_density(z), scipy.stats.norm.logpdf(z).sum(-1), rtol=RTOL)


def test_elbo_and_importance_weighted_bound_match_scipy():
    k, batch, d = 6, 3, 2
    z = rng(21).normal(size=(k, batch, d))
    mean, log_var = rng(22).normal(size=(batch, d)), rng(23).normal(size=(batch, d))
    log_px = rng(24).normal(size=(k, batch)) - 50.0
    weights = likelihood.importance_log_weights(log_px, z, mean, log_var).numpy()
    log_q = scipy.stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(-1)
    expected = log_px + scipy.stats.norm.logpdf(z).sum(-1) - log_q
    np.testing.assert_allclose(weights, expected, rtol=RTOL)
    elbo, bound = likelihood.elbo_and_iw_bound(weights)
    np.testing.assert_allclose(elbo, expected.mean(0), rtol=RTOL)
    np.testing.assert_allclose(bound, scipy.special.logsumexp(expected, axis=0) - np.log(k), rtol=RTOL)
    assert np.all(bound.numpy() >= elbo.numpy())  # Jensen


def test_log_mean_exp_does_not_overflow():
    assert float(likelihood.log_mean_exp(np.array([1000.0, 1000.0]))) == pytest.approx(1000.0)


def test_class_agreement_counts_argmax_hits_per_requested_class():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3))
    requested = rng.integers(0, 2, 50)  # class 2 never requested
    per_class, overall = metrics.class_agreement(logits, requested, 3)
    predicted = logits.argmax(1)
    for c in (0, 1):
        assert per_class[c] == pytest.approx(np.sum((predicted == c) & (requested == c)) / np.sum(requested == c))
    assert per_class[2] is None
    assert overall == pytest.approx(np.mean(predicted == requested))
    with pytest.raises(ValueError, match="logits \\[n, 4\\]"):
        metrics.class_agreement(logits, requested, 4)


def test_content_order_ignores_the_input_order_and_does_not_sort_by_value():
    x = rng(30).normal(size=(200, 5))
    shuffled = x[rng(31).permutation(200)]
    np.testing.assert_array_equal(x[metrics.content_order(x)], shuffled[metrics.content_order(shuffled)])
    ordered = x[metrics.content_order(x)][:, 0]
    assert not (np.all(np.diff(ordered) >= 0) or np.all(np.diff(ordered) <= 0))  # a scrambled, not a sorted, order


def class_sorted_logits(n=1000, classes=10, agreement=0.8, seed=32):
    """Logits of a conditional generator's samples as kgen draws them: sorted by requested class, the
    classifier agreeing with the request 80 % of the time."""
    g = rng(seed)
    requested = np.arange(n) * classes // n
    predicted = np.where(g.random(n) < agreement, requested, g.integers(0, classes, n))
    return np.eye(classes)[predicted] * 8.0 + g.normal(size=(n, classes)) * 0.5


def test_sample_metrics_do_not_depend_on_the_order_of_the_samples():
    logits = class_sorted_logits()
    features = np.concatenate([logits, rng(33).normal(size=(len(logits), 6))], axis=1)
    reference = rng(34).normal(size=(700, features.shape[1]))
    for permutation in (rng(35).permutation(len(logits)), np.arange(len(logits))[::-1]):
        assert metrics.inception_score(logits[permutation]) == metrics.inception_score(logits)
        assert metrics.kid(features[permutation], reference) == metrics.kid(features, reference)
        assert (metrics.precision_recall(reference, features[permutation])
                == metrics.precision_recall(reference, features))
        np.testing.assert_array_equal(metrics.canonical_rows(features[permutation], 300),
                                      metrics.canonical_rows(features, 300))


def test_inception_score_of_class_sorted_samples_is_that_of_shuffled_ones():
    # Consecutive splits of class-sorted samples would each hold about one class: IS near 1.
    logits = class_sorted_logits()
    score, _ = metrics.inception_score(logits, splits=10)
    shuffled = logits[rng(36).permutation(len(logits))]
    assert score == pytest.approx(inception_score_reference(shuffled, 1)[0], rel=0.1)
    assert score > 5


def test_spread_interval_is_the_bootstrap_range_recentred_on_the_value():
    replicates = rng(40).normal(5.0, 2.0, size=1000)
    low, median, high = np.quantile(replicates, [0.025, 0.5, 0.975])
    assert bootstrap.spread_interval(3.0, replicates) == pytest.approx([3.0 - (median - low), 3.0 + (high - median)])
    assert bootstrap.spread_interval(1.0, [np.nan, 2.0]) is None
    assert bootstrap.spread_interval(0.5, replicates, bounds=(0.0, np.inf))[0] == 0.0  # cut to the metric's values
    counts = bootstrap.resample_counts(30, 5, rng(41))
    assert counts.shape == (5, 30) and (counts.sum(axis=1) == 30).all()


class Features:
    def __init__(self, features, logits):
        self.features, self.logits = features, logits


def test_bootstrap_scores_match_a_numpy_reference_on_the_same_resamples():
    """Every value and interval of bootstrap_scores, recomputed with SciPy/NumPy on the resampled rows
    written out (the same draws of the same generator, in the same order)."""
    g = rng(42)
    candidate = Features(g.normal(size=(40, 4)) + 0.4, g.normal(size=(40, 6)) * 2)
    reference = Features(g.normal(size=(50, 4)), g.normal(size=(50, 6)))
    got = bootstrap.bootstrap_scores(candidate, reference, ("fid", "is", "kid", "pr"), replicates=20, seed=7,
                                     splits=2)
    x = candidate.features[metrics.content_order(candidate.features)]
    y = reference.features[metrics.content_order(reference.features)]
    logits = candidate.logits[metrics.content_order(candidate.logits)]
    draws = np.random.default_rng(7)

    def counts(n):
        return np.vstack([np.ones(n, int), draws.multinomial(n, np.ones(n) / n, size=20)])

    expected = {}
    a, b = counts(40), counts(50)
    expected["fid"] = [fid_reference(np.repeat(x, u, 0), np.repeat(y, v, 0)) for u, v in zip(a, b)]
    expected["is"] = [inception_score_reference(np.repeat(logits, c, 0), 2)[0] for c in counts(40)]
    a, b = counts(40), counts(50)
    expected["kid"] = [resampled_mmd2_reference(x, y, u, v) for u, v in zip(a, b)]
    real, fake = y[:40], x[:40]
    real_counts, fake_counts = counts(40), counts(40)
    pairs = list(zip(real_counts, fake_counts))
    expected["precision"] = [resampled_coverage_reference(real, r, fake, f, 3) for r, f in pairs]
    expected["recall"] = [resampled_coverage_reference(fake, f, real, r, 3) for r, f in pairs]
    bounds = {"fid": (0, np.inf), "is": (1, np.inf), "kid": (-np.inf, np.inf), "precision": (0, 1), "recall": (0, 1)}
    for name, values in expected.items():
        low, median, high = np.quantile(values[1:], [0.025, 0.5, 0.975])
        assert got[name]["value"] == pytest.approx(values[0], rel=1e-6), name
        assert got[name]["interval"] == pytest.approx([max(values[0] - (median - low), bounds[name][0]),
                                                       min(values[0] + (high - median), bounds[name][1])],
                                                      rel=1e-6, abs=1e-9), name


def test_the_interval_is_as_wide_as_the_spread_of_fresh_draws():
    """What the interval measures: how much the metric varies between draws of as many images. Its
    width over 2·1.96 is compared with the standard deviation over 30 fresh draws; precision and recall
    may come out wider (their resamples also move the k-NN balls): conservative, never too narrow."""
    shift = np.array([0.5, 0.0, 0.0, 0.0])

    def draw(seed, n=300):
        g = rng(seed)
        return Features(g.normal(size=(n, 4)) * 1.2 + shift, g.normal(size=(n, 3))), Features(g.normal(size=(n, 4)),
                                                                                              g.normal(size=(n, 3)))

    fresh = [bootstrap.bootstrap_scores(*draw(100 + i), ("fid", "pr"), replicates=0) for i in range(30)]
    one = bootstrap.bootstrap_scores(*draw(99), ("fid", "pr"), replicates=200)
    for name, widest in (("fid", 1.6), ("precision", 1.8), ("recall", 2.6)):
        spread = np.std([f[name]["value"] for f in fresh], ddof=1)
        low, high = one[name]["interval"]
        assert 0.6 < (high - low) / (2 * 1.96 * spread) < widest, (name, low, high, spread)
