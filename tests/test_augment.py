"""Differentiable augmentation of the discriminator's images (DiffAugment) against NumPy on small images."""

import numpy as np
import pytest
import tensorflow as tf

from kgen.models import GAN
from kgen.models.augment import augment, draws_needed, parse_policy

from conftest import TINY, tiny_images


def images(n=3, size=8):
    return tf.constant(np.random.default_rng(0).uniform(-1, 1, (n, size, size, 1)), tf.float32)


def test_translation_shifts_each_image_by_its_own_offset_and_fills_with_zero():
    x = images()
    u = np.array([[0.0, 0.99], [0.5, 0.5], [0.99, 0.2]], np.float32)  # 8 px: shifts of up to 1 px
    got = augment(x, "translation", u).numpy()
    expected = np.zeros_like(x.numpy())
    for i, (dy, dx) in enumerate([(-1, 1), (0, 0), (1, -1)]):
        for r in range(8):
            for c in range(8):
                if 0 <= r - dy < 8 and 0 <= c - dx < 8:
                    expected[i, r, c] = x.numpy()[i, r - dy, c - dx]
    np.testing.assert_array_equal(got, expected)


def test_cutout_zeroes_a_square_of_half_the_side_around_its_centre():
    x = images(1)
    got = augment(x, "cutout", np.array([[0.5, 0.0]], np.float32)).numpy()[0, ..., 0]
    zero = got == 0
    assert zero[2:6, :2].all() and zero.sum() == 4 * 2  # centre (4, 0): rows 2–5, columns −2…1 inside: 0–1
    np.testing.assert_array_equal(got[~zero], x.numpy()[0, ..., 0][~zero])


def test_brightness_and_contrast_and_gradients_flow_through_every_transform():
    x = images()
    u = np.random.default_rng(1).uniform(size=(3, draws_needed("brightness,contrast,translation,cutout")))
    bright = augment(x, "brightness", u[:, :1]).numpy()
    np.testing.assert_allclose(bright - x.numpy(), (u[:, 0] - 0.5)[:, None, None, None] * np.ones_like(bright),
                               rtol=1e-6, atol=1e-6)
    contrast = augment(x, "contrast", u[:, :1]).numpy()
    mean = x.numpy().mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(contrast, (x.numpy() - mean) * (u[:, 0] + 0.5)[:, None, None, None] + mean, atol=1e-6)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(augment(x, "brightness,contrast,translation,cutout", u))
    gradient = tape.gradient(total, x)
    assert gradient is not None and np.abs(gradient.numpy()).sum() > 0


def test_unknown_transformations_are_named():
    assert parse_policy(" translation, cutout ") == ("translation", "cutout") and parse_policy("") == ()
    with pytest.raises(ValueError, match="Unknown augmentation colour: expected some of brightness"):
        parse_policy("translation,colour")


def test_a_gan_with_augmentation_trains_and_keeps_its_policy():
    gan = GAN(image_shape=(TINY, TINY, 1), latent_dim=4, arch="dcgan", width=4, seed=0, augment="translation,cutout")
    gan.compile()
    x = tiny_images(16).astype("float32") / 127.5 - 1.0
    history = gan.fit(x, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert GAN.from_config(gan.get_config()).augment == "translation,cutout"
    # Only training augments: the discriminator's inference on an image is the same each time.
    np.testing.assert_array_equal(gan.discriminate(x[:4]), gan.discriminate(x[:4]))
