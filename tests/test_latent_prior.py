"""The mixture prior fitted to an autoencoder's codes: its math against scikit-learn and SciPy, and the models
that sample from it (determinism, saving, conditional models refused)."""

import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import multivariate_normal
from test_models import tiny_data, tiny_model

from kgen.models import latent_prior
from kgen.models.sampling import latent_uniforms, latent_vectors


def three_clusters(n=600, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, -2.0]])
    scales = [np.array([[1.0, 0.0], [0.5, 0.5]]), np.eye(2) * 0.7, np.array([[0.3, 0.0], [-0.2, 1.2]])]
    sizes = [n // 2, n // 3, n - n // 2 - n // 3]
    return np.concatenate([c + rng.standard_normal((k, 2)) @ s.T for c, s, k in zip(centres, scales, sizes)])


def test_fit_reaches_the_likelihood_and_the_components_of_scikit_learns_mixture():
    from sklearn.mixture import GaussianMixture

    codes = three_clusters()
    ours = latent_prior.fit_gaussian_mixture(codes, 3, seed=0, tolerance=1e-3)  # scikit-learn's tolerance
    theirs = GaussianMixture(3, covariance_type="full", reg_covar=latent_prior.COVARIANCE_FLOOR,
                             random_state=0).fit(codes)
    assert np.mean(ours.log_density(codes)) == pytest.approx(theirs.score(codes), abs=1e-3)
    order, their_order = np.argsort(ours.means[:, 0]), np.argsort(theirs.means_[:, 0])
    np.testing.assert_allclose(ours.means[order], theirs.means_[their_order], atol=1e-2)
    np.testing.assert_allclose(ours.weights[order], theirs.weights_[their_order], atol=1e-3)
    covariances = ours.cholesky @ np.transpose(ours.cholesky, (0, 2, 1))
    np.testing.assert_allclose(covariances[order], theirs.covariances_[their_order], atol=1e-2)


def test_log_density_is_the_weighted_sum_of_gaussian_densities():
    rng = np.random.default_rng(1)
    means = rng.standard_normal((2, 3))
    factors = np.tril(rng.uniform(0.2, 1.0, (2, 3, 3)))
    mixture = latent_prior.GaussianMixture(np.array([0.25, 0.75]), means, factors)
    x = rng.standard_normal((5, 3))
    expected = np.log(sum(w * multivariate_normal(m, f @ f.T).pdf(x)
                          for w, m, f in zip(mixture.weights, means, factors)))
    np.testing.assert_allclose(mixture.log_density(x), expected, rtol=1e-5)  # float32 products


def test_draws_pick_the_component_of_their_uniform_and_scale_the_noise_by_its_factor():
    weights = np.array([0.3, 0.7])
    means = np.array([[10.0, 0.0], [-10.0, 5.0]])
    factors = np.array([[[1.0, 0.0], [0.5, 2.0]], [[3.0, 0.0], [0.0, 0.1]]])
    noise = np.array([[1.0, -1.0], [0.5, 0.5], [2.0, 0.0], [0.0, 0.0]], "float32")
    uniforms = np.array([0.1, 0.29, 0.31, 0.999999], "float32")
    got = latent_prior.mixture_draws(noise, uniforms, weights, means, factors).numpy()
    component = [0, 0, 1, 1]
    expected = [means[k] + factors[k] @ e for k, e in zip(component, noise)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_many_draws_have_the_mixtures_mean_and_covariance():
    codes = three_clusters(3000, seed=2)
    mixture = latent_prior.fit_gaussian_mixture(codes, 3, seed=0)
    z = latent_prior.mixture_draws(latent_vectors(20_000, 2, seed=5), latent_uniforms(20_000, seed=5),
                                   mixture.weights, mixture.means, mixture.cholesky).numpy()
    mean = mixture.weights @ mixture.means
    covariances = mixture.cholesky @ np.transpose(mixture.cholesky, (0, 2, 1))
    second = np.einsum("k,kij->ij", mixture.weights, covariances + np.einsum("ki,kj->kij", mixture.means,
                                                                             mixture.means))
    np.testing.assert_allclose(z.mean(axis=0), mean, atol=0.1)
    np.testing.assert_allclose(np.cov(z, rowvar=False), second - np.outer(mean, mean), rtol=0.05, atol=0.1)


def test_uniforms_of_a_seed_do_not_depend_on_how_they_are_chunked_and_are_not_the_normals_stream():
    whole = latent_uniforms(600, seed=3).numpy()
    np.testing.assert_array_equal(np.concatenate([latent_uniforms(512, seed=3).numpy(),
                                                  latent_uniforms(88, seed=3, offset=512).numpy()]), whole)
    assert 0.0 <= whole.min() and whole.max() < 1.0
    normals = latent_vectors(600, 1, seed=3).numpy()[:, 0]
    assert abs(np.corrcoef(whole, normals)[0, 1]) < 0.15


@pytest.mark.parametrize("codes, components, match", [
    (np.zeros((2, 3)), 3, "at least as many codes"),
    (np.zeros((5, 3)), 0, "at least one component"),
    (np.full((5, 3), np.nan), 2, "finite"),
    (np.zeros(5), 2, r"\[n, d\]"),
])
def test_bad_codes_or_component_counts_are_clear_errors(codes, components, match):
    with pytest.raises(ValueError, match=match):
        latent_prior.fit_gaussian_mixture(codes, components)


def clustered_codes(latent_dim=4, n=300):
    """Codes in two tight clusters far from the origin: draws of N(0, I) are unlike draws of their mixture."""
    rng = np.random.default_rng(0)
    centres = np.stack([np.full(latent_dim, 8.0), np.full(latent_dim, -8.0)])
    return (centres[np.arange(n) % 2] + 0.1 * rng.standard_normal((n, latent_dim))).astype("float32")


@pytest.mark.parametrize("name", ["vae", "vaegan"])
def test_a_fitted_prior_is_what_the_model_samples_from_and_what_its_file_keeps(name, tmp_path):
    import keras

    model = tiny_model(name, "dcgan", prior_components=2)
    model.compile()
    model.fit(tiny_data(model, 8), batch_size=4, epochs=1, verbose=0)
    before = model.sample(16, seed=4)
    np.testing.assert_array_equal(model.latent_batch(16, seed=4), latent_vectors(16, 4, seed=4))  # not fitted yet
    model.fit_prior(clustered_codes(), seed=0)
    z = model.latent_batch(300, seed=4).numpy()
    assert np.all(np.abs(np.abs(z) - 8.0) < 1.0), "every latent vector must come from one of the two clusters"
    assert 0.4 < np.mean(z[:, 0] > 0) < 0.6
    after = model.sample(16, seed=4)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, model.sample(16, seed=4))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.prior_components == 2 and loaded.prior_temperature == 1.0
    np.testing.assert_array_equal(loaded.latent_batch(300, seed=4), z)
    np.testing.assert_allclose(loaded.sample(16, seed=4), after, atol=1e-5)


def test_a_temperature_scales_the_fitted_factors_and_spreads_the_draws_about_their_means(tmp_path):
    import keras

    plain, warm = (tiny_model("vae", "dcgan", prior_components=2, prior_temperature=t) for t in (1.0, 1.5))
    for model in (plain, warm):
        model.fit_prior(clustered_codes(), seed=0)
    np.testing.assert_allclose(warm.prior_cholesky.numpy(), 1.5 * plain.prior_cholesky.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(warm.prior_means.numpy(), plain.prior_means.numpy())
    spread = [np.std(np.abs(m.latent_batch(2000, seed=1).numpy()) - 8.0) for m in (plain, warm)]
    assert spread[1] == pytest.approx(1.5 * spread[0], rel=0.05)  # the same draws, 1.5× as far from their means
    path = str(tmp_path / "model.keras")
    warm.save(path)
    assert keras.saving.load_model(path).prior_temperature == 1.5
    # A mixture fitted once, set on a model of another temperature (as the prior benchmark does): scaled by its own
    from kgen.models.latent_prior import GaussianMixture

    hot = tiny_model("vae", "dcgan", prior_components=2, prior_temperature=3.0)
    hot.set_prior(GaussianMixture(*(v.numpy() for v in plain.latent_prior())))
    np.testing.assert_allclose(hot.prior_cholesky.numpy(), 2 * warm.prior_cholesky.numpy(), rtol=1e-6)
    expected = r"Expected a mixture of 2 Gaussians in 4 dimensions; got prior_means of shape \(2, 3\)"
    with pytest.raises(ValueError, match=expected):
        hot.set_prior(GaussianMixture(np.array([0.9, 0.1]), np.zeros((2, 3)), np.stack([np.eye(3)] * 2)))
    np.testing.assert_array_equal(hot.prior_weights.numpy(), plain.prior_weights.numpy())  # nothing half-set


def test_posterior_codes_take_several_independent_draws_per_image(npz_file):
    from kgen.images import from_uint8
    from kgen.training.prior import posterior_codes

    model = tiny_model("vae", "dcgan")
    one, three = (posterior_codes(model, npz_file, 48, seed=3, draws=k) for k in (1, 3))
    assert one.shape == (48, 4) and three.shape == (144, 4)
    images = np.load(npz_file)["x_train"][:48]
    mean, log_var = (np.asarray(t) for t in model.encode(from_uint8(images, model.output_range)))
    noise = (three.reshape(-1, 3, 48, 4) - mean) / np.exp(0.5 * log_var)  # batches of 48: [batch, draw, image, d]
    assert abs(noise.mean()) < 0.15 and noise.std() == pytest.approx(1.0, abs=0.15)
    assert np.corrcoef(noise[0, 0].ravel(), noise[0, 1].ravel())[0, 1] < 0.5  # the draws are not one draw repeated
    with pytest.raises(ValueError, match="draws must be ≥ 1"):
        posterior_codes(model, npz_file, 48, draws=0)


def test_prior_errors_say_what_was_expected():
    with pytest.raises(ValueError, match="unconditional models"):
        tiny_model("vae", "dcgan", prior_components=2, num_classes=3)
    with pytest.raises(ValueError, match="prior_components must be ≥ 0"):
        tiny_model("vae", "dcgan", prior_components=-1)
    with pytest.raises(ValueError, match="prior_temperature must be > 0"):
        tiny_model("vae", "dcgan", prior_components=2, prior_temperature=0)
    with pytest.raises(ValueError, match="it needs prior_components > 0"):
        tiny_model("vaegan", "dcgan", prior_temperature=1.2)
    with pytest.raises(ValueError, match="make it with prior_components > 0"):
        tiny_model("vae", "dcgan").fit_prior(clustered_codes())
    with pytest.raises(ValueError, match=r"Expected codes \[n, 4\]"):
        tiny_model("vae", "dcgan", prior_components=2).fit_prior(clustered_codes(latent_dim=3))
    with pytest.raises(ValueError, match="prior_components"):  # a GAN has no encoder whose codes it could fit
        tiny_model("gan", "dcgan", prior_components=2)
    assert tf.reduce_all(tiny_model("vae", "dcgan", prior_components=2).prior_weights == 0)
