"""Every model and architecture on tiny shapes: build, fit (eager and compiled), losses, history keys,
config round-trip, .keras save → load → identical outputs and optimizer state."""

import numpy as np
import pytest
import keras

from kgen import registry
from kgen.models import GAN, VAE, VAEGAN

from conftest import TINY, tiny_images

CASES = [
    ("gan", "mlp", {"d_loss", "g_loss", "d_real", "d_fake"}),
    ("gan", "dcgan", {"d_loss", "g_loss", "d_real", "d_fake"}),
    ("vae", "mlp", {"loss", "reconstruction_loss", "kl_loss"}),
    ("vae", "conv", {"loss", "reconstruction_loss", "kl_loss"}),
    ("vaegan", "dcgan", {"prior_loss", "like_loss", "gan_loss", "d_loss"}),
]


def tiny_model(name, arch, **kwargs):
    return registry.model_class(name)(image_shape=(TINY, TINY, 1), latent_dim=4, arch=arch, width=4, seed=1, **kwargs)


def tiny_data(model, n=16):
    low, high = model.output_range
    return (tiny_images(n).astype("float32") / 255.0) * (high - low) + low


@pytest.mark.parametrize("name, arch, keys", CASES)
@pytest.mark.parametrize("run_eagerly", [True, False], ids=["eager", "compiled"])
def test_one_epoch_of_fit_gives_finite_losses(name, arch, keys, run_eagerly):
    model = tiny_model(name, arch)
    model.compile(run_eagerly=run_eagerly)
    x = tiny_data(model)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, batch_size=4, epochs=1, verbose=0, validation_data=(x[:8],))
    assert set(history.history) == keys | {f"val_{k}" for k in keys}
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    changed = [not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights)]
    assert all(changed), "every trainable weight must be updated by a training epoch"
    for role in model.optimizer_roles:
        assert int(getattr(model, role).iterations) == 4


@pytest.mark.parametrize("name, arch, keys", CASES)
def test_config_round_trip_rebuilds_the_same_model(name, arch, keys):
    options = {"vae": {"beta": 2.0, "reconstruction_loss": "mse"}, "vaegan": {"gamma": 0.5, "feature_layer": 2}}
    model = tiny_model(name, arch, **options.get(name, {}))
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]


@pytest.mark.parametrize("name, arch, keys", CASES)
def test_keras_save_and_load_give_identical_outputs(name, arch, keys, tmp_path):
    model = tiny_model(name, arch)
    model.compile()
    x = tiny_data(model)
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode, compile=True
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.sample(5, seed=3), model.sample(5, seed=3))
    np.testing.assert_array_equal(np.asarray(loaded(x[:4])), np.asarray(model(x[:4])))
    for role in model.optimizer_roles:  # optimizer state survives the round trip
        assert int(getattr(loaded, role).iterations) == 2
        assert type(getattr(loaded, role)) is type(getattr(model, role))
    loaded.fit(x, batch_size=8, epochs=1, verbose=0)  # and training continues
    assert int(getattr(loaded, next(iter(model.optimizer_roles))).iterations) == 4


def test_sampling_is_deterministic_per_seed_and_prefix_stable():
    model = tiny_model("gan", "mlp")
    a = model.sample(300, seed=7)
    assert a.shape == (300, TINY, TINY, 1) and a.min() >= -1 and a.max() <= 1
    np.testing.assert_array_equal(a[:10], model.sample(10, seed=7))
    assert not np.array_equal(a[:10], model.sample(10, seed=8))
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(0)


def test_vae_encode_decode_reconstruct_shapes():
    model = tiny_model("vae", "conv")
    x = tiny_data(model, 4)
    mean, log_var = model.encode(x)
    assert mean.shape == (4, 4) and log_var.shape == (4, 4)
    assert model.decode(mean).shape == (4, TINY, TINY, 1)
    np.testing.assert_allclose(model.reconstruct(x), model.decode(mean))


def test_vae_gan_likeness_loss_does_not_train_the_discriminator():
    # With the adversarial terms switched off for D (lr 0), only L_like could move D: it must not.
    model = tiny_model("vaegan", "dcgan")
    model.compile(d_optimizer=keras.optimizers.SGD(0.0))
    x = tiny_data(model, 8)
    before = [w.numpy().copy() for w in model.discriminator.weights]
    model.fit(x, batch_size=4, epochs=1, verbose=0)
    assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, model.discriminator.weights))
    # ...while the gradient of the discriminator's own loss is non-zero (the test could fail).
    import tensorflow as tf
    with tf.GradientTape() as tape:
        *_, d_loss = model.compute_losses(tf.constant(x), None, training=True)
    grads = tape.gradient(d_loss, model.discriminator.trainable_variables)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


@pytest.mark.parametrize("cls, kwargs, message", [
    (GAN, {"arch": "conv"}, "Unknown architecture 'conv' for gan: expected one of dcgan, mlp"),
    (VAE, {"reconstruction_loss": "l1"}, "Unknown reconstruction_loss 'l1'"),
    (VAE, {"beta": -1}, "beta must be"),
    (VAE, {"kl_warmup_steps": -1}, "kl_warmup_steps must be"),
    (VAEGAN, {"gamma": -1}, "gamma must be"),
    (GAN, {"latent_dim": 0}, "latent_dim must be a positive integer"),
    (GAN, {"loss": "wasserstein"}, "Unknown GAN loss 'wasserstein': expected one of non-saturating, minimax"),
    (GAN, {"critic_steps": 0}, "critic_steps must be a positive integer"),
    (VAE, {"latent_dim": 2.5}, "latent_dim must be a positive integer"),
])
def test_bad_constructor_arguments_are_clear_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(image_shape=(TINY, TINY, 1), **{"latent_dim": 4, "width": 4, **kwargs})


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3)])
@pytest.mark.parametrize("name, arch", [("gan", "dcgan"), ("gan", "mlp"), ("vae", "conv"), ("vaegan", "dcgan")])
def test_models_train_on_colour_images_of_other_sizes(name, arch, shape):
    model = registry.model_class(name)(image_shape=shape, latent_dim=4, arch=arch, width=2, seed=0)
    model.compile()
    low, high = model.output_range
    x = np.random.RandomState(0).uniform(low, high, (4,) + shape).astype("float32")
    history = model.fit(x, batch_size=4, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert model.sample(2).shape == (2,) + shape


@pytest.mark.parametrize("loss", ["non-saturating", "minimax", "least-squares", "hinge", "wgan-gp"])
def test_every_gan_loss_trains_with_its_critic_steps(loss):
    model = tiny_model("gan", "dcgan", loss=loss, critic_steps=2)
    model.compile()
    x = tiny_data(model)
    history = model.fit(x, batch_size=4, epochs=1, verbose=0, validation_data=(x[:8],))
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(model.d_optimizer.iterations) == 8 and int(model.g_optimizer.iterations) == 4
    clone = GAN.from_config(model.get_config())
    assert (clone.loss_name, clone.critic_steps, clone.gp_weight) == (loss, 2, 10.0)


def test_wgan_gp_critic_loss_includes_the_weighted_penalty():
    import tensorflow as tf

    def first_d_loss(gp_weight):
        model = tiny_model("gan", "mlp", loss="wgan-gp", gp_weight=gp_weight)
        model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
        logs = model.train_step(tf.constant(tiny_data(model, 4)))
        return float(logs["d_loss"]), model

    plain, model = first_d_loss(0.0)
    penalised, _ = first_d_loss(10.0)
    # Same seed, weights and noise: the difference is 10 × the penalty, which is positive.
    penalty = (penalised - plain) / 10.0
    assert 0 < penalty < 10


def test_kl_warmup_ramps_the_kl_weight_to_beta():
    import tensorflow as tf

    model = tiny_model("vae", "mlp", beta=2.0, kl_warmup_steps=4)
    model.compile()
    assert float(model.kl_weight()) == pytest.approx(0.5)  # first step: beta / 4
    logs = model.train_step(tf.constant(tiny_data(model, 4)))  # the training loss uses that weight
    assert float(logs["loss"]) == pytest.approx(float(logs["reconstruction_loss"]) + 0.5 * float(logs["kl_loss"]),
                                                rel=1e-5)
    model = tiny_model("vae", "mlp", beta=2.0, kl_warmup_steps=4)
    model.compile()
    model.fit(tiny_data(model), batch_size=4, epochs=1, verbose=0)  # 4 steps
    assert int(model.optimizer.iterations) == 4 and float(model.kl_weight()) == pytest.approx(2.0)
    assert VAE.from_config(model.get_config()).kl_warmup_steps == 4
    assert tiny_model("vae", "mlp", beta=2.0).kl_weight() == 2.0
