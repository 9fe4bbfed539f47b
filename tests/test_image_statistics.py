"""Relative sharpness and class coverage (kgen.evaluation.image_statistics) against SciPy and plain Python."""

from collections import Counter

import numpy as np
import pytest
import scipy.ndimage

from kgen.evaluation.image_statistics import class_coverage, class_shares, laplacian_variance, ratio_interval


def test_laplacian_variance_matches_scipy_inside_the_border():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 9, 7, 3), dtype=np.uint8)
    expected = [scipy.ndimage.laplace(image.astype(np.float64).mean(axis=-1) / 255.0)[1:-1, 1:-1].var()
                for image in images]
    np.testing.assert_allclose(laplacian_variance(images), expected, rtol=1e-12)
    np.testing.assert_allclose(laplacian_variance(images[..., 0]), [
        scipy.ndimage.laplace(image[..., 0] / 255.0)[1:-1, 1:-1].var() for image in images], rtol=1e-12)
    with pytest.raises(ValueError, match="with H, W >= 3; got shape"):
        laplacian_variance(np.zeros((2, 2, 8), np.uint8))


def test_blur_lowers_the_relative_sharpness_and_an_image_set_is_as_sharp_as_itself():
    rng = np.random.default_rng(1)
    sharp = (rng.random((200, 28, 28)) > 0.7).astype(np.float64) * 255
    blurred = np.stack([scipy.ndimage.gaussian_filter(image, 1.0) for image in sharp])
    value, interval = ratio_interval(laplacian_variance(blurred.astype(np.uint8)), laplacian_variance(sharp))
    assert value < 0.2 and interval[0] <= value <= interval[1] < 0.25
    value, interval = ratio_interval(laplacian_variance(sharp[:100]), laplacian_variance(sharp[100:]))
    assert abs(value - 1) < 0.05 and interval[0] < 1 < interval[1]


def test_ratio_interval_matches_a_resampling_loop():
    rng = np.random.default_rng(2)
    a, b = rng.gamma(2.0, size=60), rng.gamma(3.0, size=40)
    value, interval = ratio_interval(a, b, replicates=400, seed=5)
    assert value == pytest.approx(a.mean() / b.mean())
    loop_rng = np.random.default_rng(7)
    ratios = [loop_rng.choice(a, len(a)).mean() / loop_rng.choice(b, len(b)).mean() for _ in range(4000)]
    low, median, high = np.quantile(ratios, [0.025, 0.5, 0.975])
    # the same re-centred interval, up to the noise of 400 resamples
    assert interval[0] == pytest.approx(value - (median - low), abs=0.04)
    assert interval[1] == pytest.approx(value + (high - median), abs=0.04)
    assert ratio_interval(a, b, replicates=0) == (value, None)


def test_class_coverage_counts_classes_at_half_their_real_share():
    rng = np.random.default_rng(3)
    real_classes = np.repeat(np.arange(4), [40, 30, 20, 10])
    # generated: class 3 dropped entirely, class 2 at 8 % (under half of its 20 %), 0 and 1 over-represented
    fake_classes = np.repeat(np.arange(4), [50, 42, 8, 0])

    def logits(classes):
        out = rng.normal(size=(len(classes), 4))
        out[np.arange(len(classes)), classes] += 10
        return out

    found = class_coverage(logits(fake_classes), logits(real_classes))
    real_share = {c: k / len(real_classes) for c, k in Counter(real_classes.tolist()).items()}
    fake_share = {c: Counter(fake_classes.tolist()).get(c, 0) / len(fake_classes) for c in range(4)}
    assert found == {"covered": sum(fake_share[c] >= 0.5 * real_share[c] for c in range(4)), "classes": 4,
                     "total_variation": pytest.approx(0.5 * sum(abs(fake_share[c] - real_share[c]) for c in range(4)))}
    assert found["covered"] == 2
    np.testing.assert_allclose(class_shares(logits(real_classes)), [0.4, 0.3, 0.2, 0.1])
    same = logits(real_classes)
    assert class_coverage(same, same) == {"covered": 4, "classes": 4, "total_variation": 0.0}
