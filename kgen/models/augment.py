"""Differentiable augmentation of the images a discriminator sees (Zhao et al. 2020, "Differentiable
Augmentation for Data-Efficient GAN Training"): the same random transformations for real and generated
images, differentiable in the images, so the generator learns through them and the discriminator cannot
memorise a small training set.

Each transformation draws its parameters per image from uniform noise the caller supplies (the model's
seeded generator, sliced per replica), so augmentation repeats exactly on resume.
"""

from __future__ import annotations

import tensorflow as tf

# name → number of uniform draws per image it needs
TRANSFORMS = {"brightness": 1, "contrast": 1, "translation": 2, "cutout": 2}
TRANSLATION = 1 / 8  # largest shift, as a fraction of the image side (DiffAugment's)
CUTOUT = 1 / 2  # side of the cut-out square, as a fraction of the image side (DiffAugment's)


def parse_policy(policy):
    """``"translation,cutout"`` → ``("translation", "cutout")``; ``""`` → ``()``.

    Raises:
        ValueError: an unknown transformation; the message lists them.
    """
    names = tuple(name.strip() for name in str(policy or "").split(",") if name.strip())
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ValueError(f"Unknown augmentation {', '.join(unknown)}: expected some of {', '.join(TRANSFORMS)}.")
    return names


def draws_needed(policy):
    """How many uniform numbers per image :func:`augment` needs for ``policy``."""
    return sum(TRANSFORMS[name] for name in parse_policy(policy))


def augment(images, policy, uniform):
    """Apply the transformations of ``policy`` to a batch of images ``[b, H, W, C]`` in [-1, 1] (or any range
    centred on 0).

    Args:
        images: float tensor.
        policy: names among :data:`TRANSFORMS`, as a tuple or a comma-separated string.
        uniform: ``[b, draws_needed(policy)]`` uniform numbers in [0, 1).

    Returns:
        The augmented images, of the same shape and dtype.

    Transformations: ``brightness`` adds U(−0.5, 0.5); ``contrast`` scales the deviation from the image's
    mean by U(0.5, 1.5); ``translation`` shifts by up to 1/8 of the side in each direction (what comes in
    is 0); ``cutout`` sets a square of half the side, at a random place, to 0.
    """
    x = images
    dtype = x.dtype
    uniform = tf.cast(uniform, tf.float32)
    column = 0
    for name in parse_policy(policy) if isinstance(policy, str) else policy:
        u = uniform[:, column:column + TRANSFORMS[name]]
        column += TRANSFORMS[name]
        x = _TRANSFORMS[name](x, u, dtype)
    return x


def _brightness(x, u, dtype):
    return x + tf.cast(u[:, 0] - 0.5, dtype)[:, None, None, None]


def _contrast(x, u, dtype):
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * tf.cast(u[:, 0] + 0.5, dtype)[:, None, None, None] + mean


def _offsets(u, largest):
    """Integer offsets in [-largest, largest] from uniform numbers in [0, 1)."""
    return tf.cast(tf.floor(u * (2 * largest + 1)), tf.int32) - largest


def _translation(x, u, dtype):
    height, width = x.shape[1], x.shape[2]
    dy = _offsets(u[:, 0], int(height * TRANSLATION + 0.5))
    dx = _offsets(u[:, 1], int(width * TRANSLATION + 0.5))
    # Output pixel (i, j) takes input pixel (i − dy, j − dx), or 0 outside the image: a gather stays differentiable.
    rows = tf.range(height)[None, :] - dy[:, None]  # [b, H]
    cols = tf.range(width)[None, :] - dx[:, None]  # [b, W]
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    shifted = tf.gather(tf.gather(x, tf.clip_by_value(rows, 0, height - 1), axis=1, batch_dims=1),
                        tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    return shifted * tf.cast(inside, dtype)[..., None]


def _cutout(x, u, dtype):
    height, width = x.shape[1], x.shape[2]
    size_y, size_x = int(height * CUTOUT + 0.5), int(width * CUTOUT + 0.5)
    # The square's centre on any pixel (it may reach past the border, as in DiffAugment).
    top = tf.cast(tf.floor(u[:, 0] * height), tf.int32) - size_y // 2
    left = tf.cast(tf.floor(u[:, 1] * width), tf.int32) - size_x // 2
    rows = tf.range(height)[None, :] - top[:, None]
    cols = tf.range(width)[None, :] - left[:, None]
    outside = ~(((rows >= 0) & (rows < size_y))[:, :, None] & ((cols >= 0) & (cols < size_x))[:, None, :])
    return x * tf.cast(outside, dtype)[..., None]


_TRANSFORMS = {"brightness": _brightness, "contrast": _contrast, "translation": _translation, "cutout": _cutout}
