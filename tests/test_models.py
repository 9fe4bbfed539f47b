"""Every model and architecture on tiny shapes: build, fit (eager and compiled), losses, history keys,
config round-trip, .keras save → load → identical outputs and optimizer state."""

import keras
import numpy as np
import pytest
from conftest import TINY, tiny_images

from kgen.models import GAN, VAE, VAEGAN, registry

GAN_KEYS, VAE_KEYS = {"d_loss", "g_loss", "d_real", "d_fake"}, {"loss", "reconstruction_loss", "kl_loss"}
VAEGAN_KEYS = {"prior_loss", "feature_loss", "gan_loss", "d_loss"}
CASES = [
    *((model, arch, keys) for model, keys in (("gan", GAN_KEYS), ("vae", VAE_KEYS))
      for arch in ("mlp", "dcgan", "paper-mlp", "paper-dcgan")),
    ("vaegan", "dcgan", VAEGAN_KEYS), ("vaegan", "paper-dcgan", VAEGAN_KEYS),
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
    options = {"vae": {"beta": 2.0, "reconstruction_loss": "mse"},
               "vaegan": {"gamma": 0.5, "beta": 2.0, "feature_layer": 2}}
    model = tiny_model(name, arch, **options.get(name, {}))
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert type(model)(**config).get_config() == config  # get_config returns constructor arguments
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
    model = tiny_model("vae", "dcgan")
    x = tiny_data(model, 4)
    mean, log_var = model.encode(x)
    assert mean.shape == (4, 4) and log_var.shape == (4, 4)
    assert model.decode(mean).shape == (4, TINY, TINY, 1)
    np.testing.assert_allclose(model.reconstruct(x), model.decode(mean))


def snapshot(model):
    """The values of every variable of a model (weights, batch-norm statistics, seed-generator states)."""
    return [v.numpy().copy() for v in model.variables]


def restore(model, values):
    for variable, value in zip(model.variables, values):
        variable.assign(value)


def test_vae_gan_discriminator_is_updated_by_its_own_loss_only():
    # With SGD(1) on D and lr 0 elsewhere, D's step must be exactly −∇ d_loss: L_like, which also depends
    # on D's weights (through Dis_l of the reconstructions), must not move D.
    import tensorflow as tf

    model = tiny_model("vaegan", "dcgan")
    model.compile(e_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0),
                  d_optimizer=keras.optimizers.SGD(1.0))
    x = tf.constant(tiny_data(model, 8))
    start = snapshot(model)
    weights = model.discriminator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        _, feature_loss, _, d_loss = model.compute_losses(x, None, training=True)
    expected = [w.numpy() - g.numpy() for w, g in zip(weights, tape.gradient(d_loss, weights))]
    like_grads = [g for g in tape.gradient(feature_loss, weights) if g is not None]
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in like_grads), "L_like must depend on D (else no test)"
    restore(model, start)  # the same noise and statistics again
    model.train_step(x)
    for w, e in zip(weights, expected):
        np.testing.assert_allclose(w.numpy(), e, rtol=1e-4, atol=1e-6)


def test_vae_gan_encoder_step_weights_the_kl_term_by_beta():
    # With SGD(1) on the encoder and lr 0 elsewhere, its step must be exactly −∇(β·L_prior + L_like).
    import tensorflow as tf

    model = tiny_model("vaegan", "dcgan", beta=3.0)
    model.compile(e_optimizer=keras.optimizers.SGD(1.0), g_optimizer=keras.optimizers.SGD(0.0),
                  d_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(tiny_data(model, 8))
    start = snapshot(model)
    weights = model.encoder.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        prior_loss, feature_loss, _, _ = model.compute_losses(x, None, training=True)
        loss, plain = 3.0 * prior_loss + feature_loss, prior_loss + feature_loss
    expected = [w.numpy() - g.numpy() for w, g in zip(weights, tape.gradient(loss, weights))]
    unweighted = [w.numpy() - g.numpy() for w, g in zip(weights, tape.gradient(plain, weights))]
    assert any(not np.allclose(e, u) for e, u in zip(expected, unweighted)), "β must change the step (else no test)"
    restore(model, start)  # the same noise and statistics again
    model.train_step(x)
    for w, e in zip(weights, expected):
        np.testing.assert_allclose(w.numpy(), e, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cls, kwargs, message", [
    (GAN, {"arch": "conv"}, "Unknown architecture .conv. for gan: expected one of dcgan, mlp, paper-dcgan"),
    (VAE, {"reconstruction_loss": "l1"}, "Unknown reconstruction_loss 'l1'"),
    (VAE, {"beta": -1}, "beta must be"),
    (VAE, {"kl_warmup_steps": -1}, "kl_warmup_steps must be"),
    (VAEGAN, {"gamma": -1}, "gamma must be"),
    (VAEGAN, {"beta": -1}, "beta must be"),
    (GAN, {"latent_dim": 0}, "latent_dim must be a positive integer"),
    (GAN, {"loss": "wasserstein"}, "Unknown GAN loss 'wasserstein': expected one of non-saturating, minimax"),
    (GAN, {"critic_steps": 0}, "critic_steps must be a positive integer"),
    (VAE, {"latent_dim": 2.5}, "latent_dim must be a positive integer"),
])
def test_bad_constructor_arguments_are_clear_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(image_shape=(TINY, TINY, 1), **{"latent_dim": 4, "width": 4, **kwargs})


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3)])
@pytest.mark.parametrize("name, arch", [("gan", "dcgan"), ("gan", "mlp"), ("vae", "dcgan"), ("vaegan", "dcgan")])
def test_models_train_on_colour_images_of_other_sizes(name, arch, shape):
    model = registry.model_class(name)(image_shape=shape, latent_dim=4, arch=arch, width=2, seed=0)
    model.compile()
    low, high = model.output_range
    x = np.random.RandomState(0).uniform(low, high, (4,) + shape).astype("float32")
    history = model.fit(x, batch_size=4, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert model.sample(2).shape == (2,) + shape


def critic_gap(model, real, z):
    """Mean discriminator output on real images minus on generated ones."""
    fake = model.generate(z, training=True)
    return float(np.mean(model.discriminate(real)) - np.mean(model.discriminate(fake)))


@pytest.mark.parametrize("loss", ["non-saturating", "minimax", "least-squares", "hinge", "wgan-gp"])
def test_every_gan_loss_moves_each_network_the_right_way(loss):
    import tensorflow as tf

    # The initial networks come from the global seed: fixed, so that the outcome does not depend on which
    # tests ran before (a least-squares D can start with a gap near the one it converges to).
    keras.utils.set_random_seed(0)
    # Discriminator steps alone (G frozen): D must learn to score real images above generated ones.
    model = tiny_model("gan", "mlp", loss=loss, critic_steps=2)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.SGD(0.0))
    real, z = tf.constant(tiny_data(model, 32)), tf.random.stateless_normal((32, 4), (1, 2))
    before = critic_gap(model, real, z)
    history = model.fit(tiny_data(model, 32), batch_size=8, epochs=3, verbose=0)  # 2 critic steps of 4 per step
    assert critic_gap(model, real, z) > before + 0.1
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(model.d_optimizer.iterations) == 2 * int(model.g_optimizer.iterations) == 24
    # Generator steps alone (D frozen): G must learn to raise D's score of its images.
    model = tiny_model("gan", "mlp", loss=loss, critic_steps=1)
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.Adam(1e-3))
    scored = lambda: float(np.mean(model.discriminate(model.generate(z, training=True))))  # noqa: E731
    before = scored()
    model.fit(tiny_data(model, 32), batch_size=8, epochs=3, verbose=0)
    assert scored() > before + 0.05
    clone = GAN.from_config(model.get_config())
    assert (clone.loss_name, clone.critic_steps, clone.gp_weight) == (loss, 1, 10.0)


def first_d_loss(model, x, start, **attributes):
    """The discriminator's loss in one training step on ``x`` from the weights ``start`` (a :func:`snapshot`), with
    the model's ``attributes`` set first: the same weights and noise every time."""
    restore(model, start)
    model.reset_metrics()
    for name, value in attributes.items():
        setattr(model, name, value)
    return float(model.train_step(x)["d_loss"])


def test_r1_penalty_adds_its_weight_times_half_the_squared_input_gradient_at_real_images():
    import tensorflow as tf

    model = tiny_model("gan", "mlp", r1_weight=5.0)  # mlp: no batch norm, so each image's gradient is its own
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(tiny_data(model, 4))
    start = snapshot(model)

    plain, ten = (first_d_loss(model, x, start, r1_weight=weight) for weight in (0.0, 10.0))
    restore(model, start)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = model.discriminate(x, training=True)
    penalty = 0.5 * float(np.mean(np.sum(np.square(tape.gradient(scores, x).numpy()), axis=(1, 2, 3))))
    assert penalty > 1e-4
    assert (ten - plain) / 10.0 == pytest.approx(penalty, rel=1e-3)
    clone = GAN.from_config(tiny_model("gan", "dcgan", r1_weight=5.0).get_config())
    assert clone.r1_weight == 5.0
    with pytest.raises(ValueError, match="r1_weight must be non-negative; got -1"):
        tiny_model("gan", "mlp", r1_weight=-1)
    # With dcgan's batch normalisation the penalty's second-order gradients exist and training stays finite.
    model = tiny_model("gan", "dcgan", r1_weight=10.0)
    model.compile()
    history = model.fit(tiny_data(model, 16), batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_lazy_r1_penalises_every_kth_discriminator_update_with_k_times_the_weight():
    import tensorflow as tf

    model = tiny_model("gan", "mlp", r1_weight=5.0, r1_every=3)
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(tiny_data(model, 4))
    start = snapshot(model)

    def d_loss_after(updates_done, **attributes):
        """The first D loss of a step after ``updates_done`` discriminator updates (which lazy R1 counts)."""
        restore(model, start)
        model.d_optimizer.iterations.assign(updates_done)
        return first_d_loss(model, x, snapshot(model), **attributes)

    plain = d_loss_after(0, r1_weight=0.0, r1_every=1)
    every_update = d_loss_after(0, r1_weight=5.0, r1_every=1)
    assert every_update - plain > 1e-4
    lazy = {done: d_loss_after(done, r1_weight=5.0, r1_every=3) for done in (3, 4, 5, 6)}
    assert lazy[3] - plain == pytest.approx(3 * (every_update - plain), rel=1e-3)
    assert lazy[6] == pytest.approx(lazy[3], rel=1e-6)
    assert lazy[4] == pytest.approx(plain, rel=1e-6) and lazy[5] == pytest.approx(plain, rel=1e-6)
    assert GAN.from_config(model.get_config()).r1_every == 3
    with pytest.raises(ValueError, match="r1_every must be a positive integer; got 0"):
        tiny_model("gan", "mlp", r1_weight=1.0, r1_every=0)
    # Compiled (both branches of the tf.cond traced), with dcgan's batch normalisation: finite, one update per step.
    model = tiny_model("gan", "dcgan", r1_weight=1.0, r1_every=2)
    model.compile()
    history = model.fit(tiny_data(model, 24), batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 3


def test_each_critic_step_takes_its_own_real_batch():
    import tensorflow as tf

    model = tiny_model("gan", "mlp", critic_steps=3)
    model.compile(run_eagerly=True)
    seen = []
    discriminate = model.discriminate

    def recording(images, labels=None, training=False):
        seen.append(np.asarray(images))
        return discriminate(images, labels, training)

    model.discriminate = recording
    x = tiny_data(model, 12)
    model.train_step(tf.constant(x))
    real_batches = [b for b in seen if any(np.array_equal(b, x[i:i + 4]) for i in (0, 4, 8))]
    assert len(real_batches) == 3 and not np.array_equal(real_batches[0], real_batches[1])
    assert model.batches_per_step == 3 and GAN.real_batches_per_step(loss="wgan-gp") == 5


def test_wgan_gp_critic_loss_includes_the_weighted_penalty():
    import tensorflow as tf

    model = tiny_model("gan", "mlp", loss="wgan-gp", critic_steps=1)
    model.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.SGD(0.0))
    x = tf.constant(tiny_data(model, 4))
    start = snapshot(model)

    plain, ten, twenty = (first_d_loss(model, x, start, gp_weight=weight) for weight in (0.0, 10.0, 20.0))
    # The penalty by hand: the step's first draws are z, then the interpolation weights.
    restore(model, start)
    z = model.normal_noise(4, 4)
    weights = model.uniform_noise(4, 1, 1, 1)
    mixed = x + weights * (model.generate(z, training=True) - x)
    with tf.GradientTape() as tape:
        tape.watch(mixed)
        scores = model.discriminate(mixed, training=True)
    norms = np.sqrt(np.sum(np.square(tape.gradient(scores, mixed).numpy()), axis=(1, 2, 3)))
    penalty = float(np.mean((norms - 1.0) ** 2))
    assert penalty > 1e-3
    assert (ten - plain) / 10.0 == pytest.approx(penalty, rel=1e-3)
    assert (twenty - plain) / 20.0 == pytest.approx(penalty, rel=1e-3)


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


class RawWeights(keras.callbacks.Callback):
    """The generator's weights (not its batch-norm statistics) after every training step."""

    def __init__(self, network):
        super().__init__()
        self.network, self.after = network, []

    def values(self):
        return [v.numpy().copy() for v in averaged_variables(self.network)]

    def on_train_begin(self, logs=None):
        self.after.append(self.values())

    def on_train_batch_end(self, batch, logs=None):
        self.after.append(self.values())


def averaged_variables(network):
    """A network's variables but the moving statistics of its batch normalisation."""
    statistics = {id(v) for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization)
                  for v in (layer.moving_mean, layer.moving_variance)}
    return [v for v in network.variables if id(v) not in statistics]


@pytest.mark.parametrize("name", ["gan", "vaegan"])
def test_the_generator_average_follows_the_published_schedule_and_is_what_sampling_uses(name, tmp_path):
    """The average after t steps is w̄_t = d_t·w̄_{t−1} + (1 − d_t)·w_t with d_t = min(decay, (1 + t)/(10 + t)),
    from w̄_0 = w_0: recomputed here in NumPy from the generator's weights after every step."""
    model = tiny_model(name, "dcgan", ema_decay=0.5)
    assert tiny_model(name, "dcgan").averaging == 0.999 and model.generator_average is not None
    model.compile()
    raw = getattr(model, model.generator_network)
    recorder = RawWeights(raw)
    model.fit(tiny_data(model), batch_size=4, epochs=2, verbose=0, callbacks=[recorder])  # 8 steps
    expected = recorder.after[0]
    for t, weights in enumerate(recorder.after[1:], 1):
        d = min(0.5, (1 + t) / (10 + t))  # the warm-up is still on at t ≤ 8 for a decay of 0.5 … until t = 8
        expected = [d * a + (1 - d) * w for a, w in zip(expected, weights)]
    for got, want, variable in zip(averaged_variables(model.generator_average), expected,
                                   averaged_variables(model.generator_average)):
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-5, atol=1e-7, err_msg=variable.path)
    assert not np.allclose(averaged_variables(model.generator_average)[0].numpy(), recorder.after[-1][0])
    z = model.latent_batch(5, seed=2)
    np.testing.assert_array_equal(model.sample(5, seed=2), np.asarray(model.generator_average(z), "float32"))
    assert not np.allclose(model.sample(5, seed=2), np.asarray(raw(z), "float32"))
    path = tmp_path / "model.keras"
    model.save(path)  # both sets of weights are in the file
    loaded = keras.saving.load_model(path)
    for a, b in zip(loaded.generator_average.weights + getattr(loaded, model.generator_network).weights,
                    model.generator_average.weights + raw.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name", ["gan", "vaegan"])
def test_the_averaged_generator_normalises_with_statistics_of_its_own_weights(name, tmp_path):
    """Batch normalisation of the average, in inference mode, must use the mean and variance its inputs
    have over fresh latent vectors (run through the average itself). The generator's running statistics
    (those of other weights) do not match them."""
    model = tiny_model(name, "dcgan", ema_decay=0.5)
    model.compile()
    model.fit(tiny_data(model), batch_size=4, epochs=2, verbose=0)
    z = model.latent_batch(4096, seed=77)  # not the latent vectors the statistics were measured on

    def own_statistics(average):
        layers = [layer for layer in average.layers if isinstance(layer, keras.layers.BatchNormalization)]
        found = []
        for layer, x in zip(layers, keras.Model(average.inputs, [layer.input for layer in layers])(z, training=False)):
            x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
            # averaged over the channels: a few heavy-tailed ones vary more between draws of 4,096
            found.append(np.mean(np.abs(layer.moving_mean.numpy() - x.mean(0)) / x.std(0)) < 0.03
                         and np.mean(np.abs(np.log(layer.moving_variance.numpy() / x.var(0)))) < 0.06)
        return all(found)

    model.sample(2)  # sampling measures them first
    assert own_statistics(model.generator_average)
    raw = getattr(model, model.generator_network)
    pairs = [(a, r) for a, r in zip(model.generator_average.layers, raw.layers)
             if isinstance(a, keras.layers.BatchNormalization)]
    for a, r in pairs:
        a.moving_mean.assign(r.moving_mean)  # the generator's running statistics instead
        a.moving_variance.assign(r.moving_variance)
    assert not own_statistics(model.generator_average)
    model.fit(tiny_data(model)[:4], batch_size=4, epochs=1, verbose=0)  # one more step: the statistics are stale
    model.save(tmp_path / "model.keras")  # saving measures them: the file holds what sampling uses
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert own_statistics(loaded.generator_average)


def test_reconstructions_and_likelihoods_use_the_decoder_that_trained_with_the_encoder(tmp_path):
    """A VAE-GAN's average decodes samples; its encoder's codes are decoded by the decoder it trained with."""
    from kgen.evaluation.autoencoder import AutoencoderScorer
    from kgen.export import ExportedModel, export_model

    model = tiny_model("vaegan", "dcgan", ema_decay=0.5)
    model.compile()
    x = tiny_data(model)
    model.fit(x, batch_size=4, epochs=2, verbose=0)
    z = model.latent_batch(6, seed=3)
    raw = np.asarray(model.decoder(z, training=False))
    assert not np.allclose(raw, model.generate(z), atol=1e-3)  # the average differs: else no test
    np.testing.assert_array_equal(model.decode(z), raw)
    z_mean, _ = model.encode(x[:6])
    np.testing.assert_allclose(model.reconstruct(x[:6]), model.decoder(z_mean, training=False), atol=1e-6)
    images = tiny_images(6)
    scores = AutoencoderScorer(model, samples=2)(images)
    expected_mse = np.mean((np.asarray(model.decoder(model.encode((images / 127.5 - 1).astype("float32"))[0]))
                            / 2 + 0.5 - images / 255.0) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(scores["reconstruction_mse"], expected_mse, rtol=1e-4)
    exported = ExportedModel(export_model(model, str(tmp_path / "exports")))
    np.testing.assert_allclose(exported.decode(z), raw, atol=1e-5)
    np.testing.assert_allclose(exported.generate(z), model.generate(z), atol=1e-5)


def test_averaging_can_be_turned_off_and_the_vae_has_none_by_default():
    assert tiny_model("gan", "dcgan", ema_decay=0.0).generator_average is None
    assert tiny_model("vae", "dcgan").generator_average is None
    with pytest.raises(ValueError, match="ema_decay must be in"):
        tiny_model("gan", "dcgan", ema_decay=1.0)


def test_models_saved_by_kgen_0_1_load_with_the_networks_their_names_meant():
    config = tiny_model("gan", "dcgan").get_config()
    old = {k: v for k, v in config.items() if k not in ("networks_version", "ema_decay")}
    assert GAN.from_config(old).arch == "paper-dcgan" and GAN.from_config(old).generator_average is None
    old_vae = {k: v for k, v in tiny_model("vae", "dcgan").get_config().items() if k != "networks_version"}
    assert VAE.from_config({**old_vae, "arch": "conv"}).arch == "paper-dcgan"
    assert GAN.from_config(config).arch == "dcgan"


def test_the_generator_average_is_not_a_trainable_weight():
    model = tiny_model("gan", "dcgan")
    average = {id(v) for v in model.generator_average.weights}
    assert average and not average & {id(v) for v in model.trainable_weights}
    assert average <= {id(v) for v in model.non_trainable_weights}


@pytest.mark.parametrize("options, rate", [
    ({}, 8e-4),  # kgen's DCGAN on 28×28 images: the measured setting
    ({"arch": "mlp"}, 2e-4), ({"arch": "paper-dcgan"}, 2e-4), ({"width": 16}, 2e-4), ({"num_classes": 10}, 2e-4),
    ({"loss": "hinge"}, 2e-4), ({"image_shape": (32, 32, 3)}, 2e-4), ({"loss": "wgan-gp"}, 1e-4)],
    ids=["dcgan-28x28", "mlp", "paper-dcgan", "width-16", "conditional", "hinge", "32x32", "wgan-gp"])
def test_the_gan_trains_at_8e4_only_where_that_rate_was_measured(options, rate):
    model = GAN(**{"image_shape": (28, 28, 1), "latent_dim": 8, **options})
    model.compile()
    assert model.default_learning_rate == rate
    assert float(model.d_optimizer.learning_rate) == pytest.approx(rate)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(rate)


def test_minibatch_std_option_builds_trains_and_survives_the_config():
    from kgen.models.networks import MinibatchStdDev

    model = tiny_model("gan", "dcgan", minibatch_std=4)
    layers = model.discriminator.get_layer("discriminator_trunk").layers
    assert [layer.group_size for layer in layers if isinstance(layer, MinibatchStdDev)] == [4]
    model.compile()
    history = model.fit(tiny_data(model, 16), batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    again = GAN.from_config(model.get_config())
    assert again.minibatch_std == 4 and again.discriminator.count_params() == model.discriminator.count_params()
    assert not any(isinstance(layer, MinibatchStdDev)
                   for layer in tiny_model("gan", "dcgan").discriminator.get_layer("discriminator_trunk").layers)
    for bad in (1, -2):
        with pytest.raises(ValueError, match=f"minibatch_std must be 0 \\(off\\) or a group size ≥ 2; got {bad}"):
            tiny_model("gan", "dcgan", minibatch_std=bad)


@pytest.mark.parametrize("reuse_fakes", [False, True])
def test_reuse_fakes_scores_the_discriminators_fake_batch_again_for_the_generator(reuse_fakes):
    import tensorflow as tf

    model = tiny_model("gan", "dcgan", reuse_fakes=reuse_fakes)
    model.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    made, scored = [], []
    generate, discriminate = model.generate, model.discriminate
    model.generate = lambda z, *args, **kwargs: made.append(generate(z, *args, **kwargs)) or made[-1]
    model.discriminate = lambda images, *args, **kwargs: scored.append(images) or discriminate(images, *args, **kwargs)
    generator_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    model.train_step(tf.constant(tiny_data(model, 8)))
    # Scored: the real batch and the fake batch in D's update, then the generator's batch in its own update.
    assert len(scored) == 3 and scored[1] is made[0]
    assert len(made) == (1 if reuse_fakes else 2) and scored[2] is made[-1]
    assert any(np.abs(w.numpy() - before).max() > 0
               for w, before in zip(model.generator.trainable_weights, generator_before))
    assert GAN.from_config(model.get_config()).reuse_fakes is reuse_fakes
    # Compiled, with two critic steps: the generator's update reuses the last of them.
    model = tiny_model("gan", "dcgan", reuse_fakes=reuse_fakes, critic_steps=2)
    model.compile()
    history = model.fit(tiny_data(model, 32), batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
