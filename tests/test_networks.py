"""Sub-network builders and kgen's own layers: shapes for the supported image sizes, clear errors for the others,
LeakyReLU's gradients and the graph fusions it keeps."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgen.models import networks


@pytest.mark.parametrize("shape, stages", [((28, 28, 1), (2, 7)), ((32, 32, 3), (2, 8)), ((64, 64, 3), (3, 8)),
                                           ((16, 16, 1), (2, 4)), ((128, 128, 3), (4, 8))])
def test_upsampling_stages_follow_image_size(shape, stages):
    assert networks.upsampling_stages(shape) == stages


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
@pytest.mark.parametrize("arch", networks.ARCHS)
def test_networks_build_for_each_supported_size(shape, arch):
    generator = networks.build_generator(shape, arch, latent_dim=8, width=4)
    discriminator = networks.build_discriminator(shape, arch, width=4)
    encoder = networks.build_encoder(shape, arch, latent_dim=8, width=4)
    assert generator.output_shape == (None,) + shape
    assert discriminator.output_shape == (None, 1)
    assert [s for s in encoder.output_shape] == [(None, 8), (None, 8)]


def test_paper_dcgan_matches_the_reference_architecture():
    # Generator 100→7·7·256 then 128, 64, 32, 1; discriminator 32, 64, 128, 256 (paper sizes, width 32).
    generator = networks.build_generator((28, 28, 1), "paper-dcgan", latent_dim=100)
    discriminator = networks.build_discriminator((28, 28, 1), "paper-dcgan")
    assert generator.count_params() == 1_654_529
    assert discriminator.count_params() == 387_840 + 12_545
    assert not batch_norms(generator) and not batch_norms(discriminator)


def test_paper_mlp_matches_the_reference_architecture():
    generator = networks.build_generator((28, 28, 1), "paper-mlp", latent_dim=100)
    units = [layer.units for layer in generator.layers if hasattr(layer, "units")]
    assert units == [128, 256, 512, 784]
    assert not batch_norms(generator)


def walk(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model) or hasattr(layer, "layers"):
            yield from walk(layer)


def batch_norms(model):
    return [layer for layer in walk(model) if isinstance(layer, keras.layers.BatchNormalization)]


def test_default_dcgan_is_radfords():
    generator = networks.build_generator((28, 28, 1), "dcgan", latent_dim=100)
    discriminator = networks.build_discriminator((28, 28, 1), "dcgan")
    g_layers = [layer for layer in walk(generator) if not isinstance(layer, keras.layers.InputLayer)]
    kinds = [type(layer).__name__ for layer in g_layers]
    # InfoGAN's dense layer, the projection, each → BN → ReLU (the nonlinearity the paper-literal network
    # lacks after its projection), then up-convolutions.
    assert kinds[:7] == ["Dense", "BatchNormalization", "ReLU"] * 2 + ["Reshape"]
    convs = [layer for layer in g_layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [c.kernel_size for c in convs] == [(4, 4)] * 2 and [c.strides for c in convs] == [(2, 2)] * 2
    assert kinds[-2:] == ["Conv2DTranspose", "Activation"]  # no batch norm on the output
    assert len(batch_norms(generator)) == 3
    d_layers = [layer for layer in walk(discriminator) if not isinstance(layer, keras.layers.InputLayer)]
    d_kinds = [type(layer).__name__ for layer in d_layers]
    first_conv = d_kinds.index("Conv2D")
    assert d_kinds[first_conv + 1] == "LeakyReLU"  # no batch norm on the input layer
    assert len(batch_norms(discriminator)) == 2 and "Dropout" not in " ".join(d_kinds)  # 2nd conv, dense layer
    kernel = next(layer for layer in d_layers if isinstance(layer, keras.layers.Conv2D)).kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.005  # N(0, 0.02)
    critic = networks.build_discriminator((28, 28, 1), "dcgan", norm="layer")
    assert not batch_norms(critic)
    assert any(isinstance(layer, keras.layers.LayerNormalization) for layer in walk(critic))


def test_discriminator_feature_layer_output():
    model = networks.build_discriminator((28, 28, 1), "paper-dcgan", width=4, feature_layer=3)
    assert model.output_shape == [(None, 1), (None, 14, 14, 16)]
    with pytest.raises(ValueError, match="feature_layer must be between 1 and 4"):
        networks.build_discriminator((28, 28, 1), "paper-dcgan", width=4, feature_layer=5)
    last_conv = networks.build_discriminator((28, 28, 1), "dcgan", width=4, feature_layer=2)
    assert last_conv.output_shape == [(None, 1), (None, 7, 7, 16)]
    dense = networks.build_discriminator((28, 28, 1), "dcgan", width=4, feature_layer=-1)
    assert dense.output_shape == [(None, 1), (None, 128)]


@pytest.mark.parametrize("shape, message", [((30, 30, 1), "divisible by 4"), ((28, 32, 1), "square"),
                                            ((28, 28), "height, width, channels")])
def test_unbuildable_image_sizes_are_clear_errors(shape, message):
    with pytest.raises(ValueError, match=message):
        networks.build_generator(shape, "dcgan", latent_dim=4)


def test_unknown_arch_and_bad_latent_dim():
    with pytest.raises(ValueError, match="Unknown architecture 'resnet'"):
        networks.build_generator((28, 28, 1), "resnet", latent_dim=4)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        networks.build_generator((28, 28, 1), "mlp", latent_dim=0)


@pytest.mark.parametrize("rate", [0.25, 0.4])
@pytest.mark.parametrize("cheap_masks", [True, False])
def test_dropout_masks_drop_at_the_rate_and_rescale_the_rest(rate, cheap_masks):
    layer = networks.ReplicaDropout(rate, seed=3)
    layer.cheap_masks = cheap_masks
    out = layer(tf.ones((64, 50, 50, 1)), training=True).numpy()
    kept = out != 0
    # 160,000 units: the kept share's standard error is about 0.0012.
    assert kept.mean() == pytest.approx(1 - rate, abs=0.005)
    np.testing.assert_allclose(out[kept], 1 / (1 - rate), rtol=1e-6)
    # Every unit's mask is its own draw: no two images share a mask.
    assert len({row.tobytes() for row in kept.reshape(64, -1)}) == 64
    assert np.array_equal(layer(tf.ones((2, 3)), training=False).numpy(), np.ones((2, 3)))


def test_cheap_dropout_masks_follow_the_seed_and_differ_between_calls():
    def masks(seed):
        layer = networks.ReplicaDropout(0.25, seed=seed)
        return [layer(tf.ones((8, 33)), training=True).numpy() != 0 for _ in range(2)]

    first, second = masks(5), masks(5)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], masks(6)[0])


def test_kgens_leaky_relu_has_keras_values_and_gradients_to_the_second_order():
    x = tf.constant(np.random.RandomState(0).randn(6, 5).astype("float32"))
    w = tf.Variable(np.random.RandomState(1).randn(5, 5).astype("float32"))

    def values_and_gradients(activation):  # as WGAN-GP's penalty: the gradient of an input gradient's norm
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                out = tf.reduce_sum(activation(x @ w) ** 2)
            input_gradient = inner.gradient(out, x)
            penalty = tf.reduce_sum(input_gradient ** 2)
        return out, input_gradient, outer.gradient(penalty, w)

    ours = networks.LeakyReLU(negative_slope=0.2)
    expected = values_and_gradients(keras.layers.LeakyReLU(negative_slope=0.2))
    for got in (values_and_gradients(ours), tf.function(lambda: values_and_gradients(ours))()):
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_conv_gan_trains_without_tensorflow_graph_optimizer_errors():
    # With Keras' LeakyReLU, TensorFlow's graph optimizer failed on every conv GAN's training function
    # ("remapper failed: ... LeakyReluGrad", on stderr) and fused none of its ops.
    script = """
        import numpy as np, kgen
        model = kgen.GAN(image_shape=(16, 16, 1), latent_dim=4, width=4, seed=0)
        model.compile()
        model.fit(np.zeros((16, 16, 16, 1), "float32"), batch_size=8, epochs=1, verbose=0)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "remapper failed" not in result.stderr


def test_minibatch_stddev_matches_numpy_per_group():
    x = np.random.default_rng(3).normal(size=(8, 3, 3, 2)).astype("float32")
    # Groups of 4 in a batch of 8: image i belongs to group i mod 2, as a reshape to [4, 2, …] splits the batch.
    groups = x.reshape(4, 2, -1)
    expected = np.tile(np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=-1), 4)
    np.testing.assert_allclose(networks.minibatch_stddev(tf.constant(x), 4).numpy(), expected, rtol=1e-5)
    # A batch the group size does not divide is one group; bfloat16 features give float32 values.
    whole = np.sqrt(x[:6].reshape(6, -1).var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(networks.minibatch_stddev(tf.constant(x[:6]), 4).numpy(), np.full(6, whole), rtol=1e-5)
    low = networks.minibatch_stddev(tf.constant(x, tf.bfloat16), 4)
    assert low.dtype == tf.float32
    np.testing.assert_allclose(low.numpy(), expected, rtol=2e-2)


def test_minibatch_stddev_layer_couples_each_image_to_its_group_only():
    layer = networks.MinibatchStdDev(4)
    x = np.random.default_rng(4).normal(size=(8, 3, 3, 2)).astype("float32")
    out = layer(tf.constant(x)).numpy()
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    np.testing.assert_allclose(out[:, 0, 0, 2], networks.minibatch_stddev(tf.constant(x), 4).numpy())
    assert np.ptp(out[..., 2], axis=(1, 2)).max() == 0  # the same value at every position
    discriminator = networks.build_discriminator((16, 16, 1), "dcgan", width=4, minibatch_std=4)
    assert any(isinstance(layer, networks.MinibatchStdDev) for layer in discriminator.get_layer(
        "discriminator_trunk").layers)
    images = np.random.default_rng(5).uniform(-1, 1, size=(8, 16, 16, 1)).astype("float32")

    def first_features(batch):
        """Image 0's features after the dense layer that the standard deviation feeds, in inference mode (no batch
        statistics couple the images)."""
        return discriminator.get_layer("discriminator_trunk")(tf.constant(batch), training=False)[-1][0].numpy()

    same_group, other_group = images.copy(), images.copy()
    same_group[2] *= -1  # image 2 shares image 0's group (i mod 2 == 0), image 1 does not
    other_group[1] *= -1
    moved_by_same = np.abs(first_features(same_group) - first_features(images)).max()
    moved_by_other = np.abs(first_features(other_group) - first_features(images)).max()
    assert moved_by_same > 1e-6 and moved_by_other <= 1e-3 * moved_by_same, (moved_by_same, moved_by_other)
    with pytest.raises(ValueError, match="group_size must be an integer ≥ 2; got 1"):
        networks.MinibatchStdDev(1)
    with pytest.raises(ValueError, match="dcgan trunk only; got arch 'mlp'"):
        networks.build_discriminator((16, 16, 1), "mlp", width=4, minibatch_std=4)
