"""Loss functions against independent NumPy/SciPy computations."""

import numpy as np
import pytest
from scipy.special import expit

from kgen import losses

RNG = np.random.RandomState(0)


def np_bce(labels, logits):
    p = expit(logits.astype(np.float64))
    return float(np.mean(-(labels * np.log(p) + (1 - labels) * np.log(1 - p))))


@pytest.mark.parametrize("label", [0.0, 1.0, 0.3])
def test_bce_with_logits_matches_numpy(label):
    logits = RNG.normal(0, 3, (8, 1)).astype("float32")
    got = float(losses.bce_with_logits(label, logits))
    assert got == pytest.approx(np_bce(np.full_like(logits, label, dtype=np.float64), logits), rel=1e-5)


def test_bce_with_logits_is_finite_at_extreme_logits():
    logits = np.array([[-200.0], [200.0]], "float32")
    assert float(losses.bce_with_logits(1.0, logits)) == pytest.approx(100.0, rel=1e-6)  # mean of 200 and 0


def test_discriminator_and_generator_losses():
    real, fake1, fake2 = (RNG.normal(size=(6, 1)).astype("float32") for _ in range(3))
    d = float(losses.discriminator_loss(real, fake1, fake2))
    expected = np_bce(np.ones_like(real), real) + np_bce(np.zeros_like(fake1), fake1) + np_bce(np.zeros_like(fake2), fake2)
    assert d == pytest.approx(expected, rel=1e-5)
    g = float(losses.generator_loss(fake1, fake2))
    assert g == pytest.approx(np_bce(np.ones_like(fake1), fake1) + np_bce(np.ones_like(fake2), fake2), rel=1e-5)


def test_kl_divergence_matches_closed_form():
    mean = RNG.normal(size=(5, 4))
    log_var = RNG.normal(size=(5, 4))
    var = np.exp(log_var)
    # KL(N(m, v) || N(0, 1)) per dimension = ½ (v + m² - 1 - log v)
    expected = np.mean(np.sum(0.5 * (var + mean**2 - 1 - log_var), axis=1))
    assert float(losses.kl_divergence(mean.astype("float32"), log_var.astype("float32"))) == pytest.approx(expected, rel=1e-5)
    assert float(losses.kl_divergence(np.zeros((3, 2), "float32"), np.zeros((3, 2), "float32"))) == 0.0


def test_reconstruction_losses_match_numpy():
    x = RNG.uniform(size=(4, 3, 3, 1)).astype("float32")
    p = RNG.uniform(0.05, 0.95, size=(4, 3, 3, 1)).astype("float32")
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    assert float(losses.reconstruction_bce(x, p)) == pytest.approx(np.mean(bce.reshape(4, -1).sum(1)), rel=1e-5)
    mse = ((x - p) ** 2).reshape(4, -1).sum(1).mean()
    assert float(losses.reconstruction_mse(x, p)) == pytest.approx(mse, rel=1e-5)
    assert np.isfinite(float(losses.reconstruction_bce(x, np.zeros_like(x))))
