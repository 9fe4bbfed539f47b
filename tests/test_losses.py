"""Loss functions against independent NumPy/SciPy computations."""

import numpy as np
import pytest
from scipy.special import expit

from kgen.models import losses

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
    expected = (np_bce(np.ones_like(real), real) + np_bce(np.zeros_like(fake1), fake1)
                + np_bce(np.zeros_like(fake2), fake2))
    assert d == pytest.approx(expected, rel=1e-5)
    g = float(losses.generator_loss(fake1, fake2))
    assert g == pytest.approx(np_bce(np.ones_like(fake1), fake1) + np_bce(np.ones_like(fake2), fake2), rel=1e-5)


def test_kl_divergence_matches_closed_form():
    mean = RNG.normal(size=(5, 4))
    log_var = RNG.normal(size=(5, 4))
    var = np.exp(log_var)
    # KL(N(m, v) || N(0, 1)) per dimension = ½ (v + m² - 1 - log v)
    expected = np.mean(np.sum(0.5 * (var + mean**2 - 1 - log_var), axis=1))
    kl = losses.kl_divergence(mean.astype("float32"), log_var.astype("float32"))
    assert float(kl) == pytest.approx(expected, rel=1e-5)
    assert float(losses.kl_divergence(np.zeros((3, 2), "float32"), np.zeros((3, 2), "float32"))) == 0.0


def test_reconstruction_losses_match_numpy():
    x = RNG.uniform(size=(4, 3, 3, 1)).astype("float32")
    p = RNG.uniform(0.05, 0.95, size=(4, 3, 3, 1)).astype("float32")
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    assert float(losses.reconstruction_bce(x, p)) == pytest.approx(np.mean(bce.reshape(4, -1).sum(1)), rel=1e-5)
    mse = ((x - p) ** 2).reshape(4, -1).sum(1).mean()
    assert float(losses.reconstruction_mse(x, p)) == pytest.approx(mse, rel=1e-5)
    assert np.isfinite(float(losses.reconstruction_bce(x, np.zeros_like(x))))


# Small exact cases, computed by hand: real outputs [2, -1], fake outputs [0.5, -3].
REAL = np.array([[2.0], [-1.0]], "float32")
FAKE = np.array([[0.5], [-3.0]], "float32")


def test_least_squares_losses_by_hand():
    # D: ½·mean((2-1)², (-1-1)²) + ½·mean(0.5², 3²) = ½·2.5 + ½·4.625
    assert float(losses.least_squares_discriminator_loss(REAL, FAKE)) == pytest.approx(3.5625)
    # G: ½·mean((0.5-1)², (-3-1)²) = ½·(0.25 + 16)/2
    assert float(losses.least_squares_generator_loss(FAKE)) == pytest.approx(4.0625)


def test_hinge_and_wasserstein_losses_by_hand():
    # D: mean(max(0, 1-2), max(0, 1+1)) + mean(max(0, 1+0.5), max(0, 1-3)) = 1 + 0.75
    assert float(losses.hinge_discriminator_loss(REAL, FAKE)) == pytest.approx(1.75)
    assert float(losses.critic_generator_loss(FAKE)) == pytest.approx(1.25)  # -mean(0.5, -3)
    assert float(losses.wasserstein_critic_loss(REAL, FAKE)) == pytest.approx(-1.25 - 0.5)


def test_minimax_generator_loss_is_mean_log_one_minus_d():
    expected = np.mean(np.log(1.0 - expit(FAKE.astype(np.float64))))
    assert float(losses.minimax_generator_loss(FAKE)) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_by_hand_and_safe_at_zero_gradient():
    import tensorflow as tf

    # Per-example norms 5 (3-4-0) and 1: mean((5-1)², (1-1)²) = 8.
    gradients = np.array([[[3.0, 4.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]], "float32")
    assert float(losses.gradient_penalty(gradients)) == pytest.approx(8.0, rel=1e-6)
    zero = tf.Variable(tf.zeros((2, 3, 3, 1)))
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(zero)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5)  # (√eps - 1)²
    assert np.all(np.isfinite(tape.gradient(penalty, zero).numpy()))  # sqrt(0) has an infinite slope


def test_r1_penalty_is_half_the_mean_squared_norm():
    # Per-example squared norms 25 (3-4-0) and 1: ½ · mean(25, 1) = 6.5; by NumPy on random gradients too.
    gradients = np.array([[[3.0, 4.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]], "float32")
    assert float(losses.r1_penalty(gradients)) == pytest.approx(6.5, rel=1e-6)
    random = np.random.default_rng(0).normal(size=(5, 3, 3, 2)).astype("float32")
    expected = 0.5 * np.mean(np.sum(random.astype(np.float64) ** 2, axis=(1, 2, 3)))
    assert float(losses.r1_penalty(random.astype("float16"))) == pytest.approx(expected, rel=1e-2)
    assert float(losses.r1_penalty(random)) == pytest.approx(expected, rel=1e-6)


def test_float16_outputs_give_float32_losses():
    half = FAKE.astype("float16")
    for name, objective in losses.GAN_LOSSES.items():
        assert objective.discriminator(REAL.astype("float16"), half).dtype == "float32", name
        assert objective.generator(half).dtype == "float32", name


def test_kl_per_dimension_by_hand_and_sums_to_the_kl():
    mean = np.array([[1.0, 0.0], [0.0, 0.0]], "float32")
    log_var = np.array([[0.0, 0.0], [np.log(2.0), 0.0]], "float32")
    # ½(σ² + μ² - 1 - log σ²): μ=1, σ²=1 → 0.5; μ=0, σ²=2 → ½(1 - ln 2); the prior itself → 0.
    expected = np.array([[0.5, 0.0], [0.5 * (1.0 - np.log(2.0)), 0.0]])
    np.testing.assert_allclose(np.asarray(losses.kl_per_dimension(mean, log_var)), expected, rtol=1e-6, atol=1e-7)
    assert float(losses.kl_divergence(mean, log_var)) == pytest.approx(expected.sum(axis=1).mean(), rel=1e-6)
