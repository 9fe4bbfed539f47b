"""Builders of the sub-networks shared by every kgen model.

GAN, VAE and VAE-GAN are assembled from the same three kinds of network so that a comparison between
them is fair: an image-to-features *trunk* (the discriminator's body, reused as the VAE encoder), a
latent-to-image *generator* (the VAE decoder) and small heads on top.

Two architectures exist for each network, after the reference comparison (Banerjee, "GAN vs VAE"):

* ``mlp``: fully connected layers on the flattened image.
* ``dcgan`` / ``conv``: 3×3 convolutions; the number of stride-2 stages follows the image size
  (two for 28×28 and 32×32, three for 64×64), so the same recipe serves MNIST, CIFAR-10 and CelebA.

``width`` scales every layer: the paper's layer sizes are those of ``width=32``.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kgen.models.base import num_replicas, replica_slice

# Architecture names accepted by the builders; "conv" is the VAE's name for the DCGAN networks.
MLP = "mlp"
CONV_ARCHS = ("dcgan", "conv")
ARCHS = (MLP,) + CONV_ARCHS

MAX_BASE_SIZE = 8  # the generator's first feature map is at most 8×8
MIN_CONV_LAYERS = 4


@keras.saving.register_keras_serializable(package="kgen")
class ReplicaDropout(layers.Dropout):
    """Dropout whose mask is drawn for the global batch: under a distribution strategy each replica
    keeps its slice, so replicas drop different units and training matches a one-device run of the
    same global batch (Keras' Dropout would give every replica the same mask).

    The masks come from random bits, not from one float per unit as in Keras' Dropout: a 32-bit
    random word yields four masks when the rate is a multiple of 1/256 (the DCGAN's 0.25), else two,
    with the rate rounded to 1/65536. On a CPU, dropout with float masks took ≈ 19 % of a DCGAN
    training step's busy time, with these ≈ 7 % (README, "Performance"). Set ``cheap_masks = False``
    on a layer before its first call to draw float masks instead (the benchmarks' baseline).
    """

    cheap_masks = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        batch = tf.shape(inputs)[0]
        shape = tf.concat([[batch * num_replicas()], tf.shape(inputs)[1:]], axis=0)
        keep = replica_slice(self._keep_mask(shape), batch)
        return tf.where(keep, inputs / tf.cast(1.0 - self.rate, inputs.dtype), tf.zeros_like(inputs))

    def _keep_mask(self, shape):
        """A boolean mask of ``shape``, each entry True with probability 1 − rate."""
        if not self.cheap_masks:
            return keras.random.uniform(shape, seed=self.seed_generator) >= self.rate
        bits = 8 if float(self.rate * 256).is_integer() else 16
        per_word = 32 // bits
        size = tf.reduce_prod(shape)
        seed = tf.cast(self.seed_generator.next(), "int32")
        words = tf.random.stateless_uniform([(size + per_word - 1) // per_word], seed,
                                            minval=None, maxval=None, dtype=tf.uint32)
        draws = tf.reshape(tf.bitcast(words, tf.uint8 if bits == 8 else tf.uint16), [-1])[:size]
        threshold = min(round(self.rate * 2 ** bits), 2 ** bits - 1)
        return tf.reshape(draws >= threshold, shape)


def _check_arch(arch):
    if arch not in ARCHS:
        raise ValueError(f"Unknown architecture {arch!r}: expected one of {', '.join(ARCHS)}.")


def _check_image_shape(image_shape):
    if len(image_shape) != 3 or any(int(d) <= 0 for d in image_shape):
        raise ValueError(
            f"image_shape must be (height, width, channels) with positive sizes; got {image_shape!r}."
        )


def upsampling_stages(image_shape):
    """Number of stride-2 stages the convolutional networks use for an image size.

    The image is halved as long as the result stays an integer and the feature map is larger than
    ``MAX_BASE_SIZE``; at least two halvings are required (as in the DCGAN of the paper).

    Args:
        image_shape: ``(height, width, channels)``; height and width must be equal.

    Returns:
        ``(stages, base)``: the number of stride-2 stages and the side of the smallest feature map.

    Raises:
        ValueError: the image is not square or its side is not divisible by 4.

    Example:
        >>> upsampling_stages((28, 28, 1)), upsampling_stages((64, 64, 3))
        ((2, 7), (3, 8))
    """
    _check_image_shape(image_shape)
    height, width = int(image_shape[0]), int(image_shape[1])
    if height != width:
        raise ValueError(f"Convolutional networks need square images; got {height}×{width}.")
    if height % 4:
        raise ValueError(
            f"Convolutional networks need an image side divisible by 4 (e.g. 28, 32, 64); got {height}."
        )
    stages, base = 2, height // 4
    while base > MAX_BASE_SIZE and base % 2 == 0:
        stages, base = stages + 1, base // 2
    return stages, base


def _conv_plan(stages):
    """Strides and relative widths of the conv layers, from the image (discriminator order).

    The paper's 28×28 plan is strides (2, 1, 1, 2) with filters 32, 64, 128, 256. More stages replace
    stride-1 layers by stride-2 ones; more than four stages add layers.
    """
    n_layers = max(MIN_CONV_LAYERS, stages)
    strides = [2] + [1] * (n_layers - stages) + [2] * (stages - 1)
    multipliers = [min(2**i, 16) for i in range(n_layers)]
    return strides, multipliers


def image_trunk(image_shape, arch, width=32, dropout=0.0, activation="leaky_relu", name="trunk"):
    """The image-to-features body shared by the discriminator and the encoder.

    Args:
        image_shape: ``(height, width, channels)`` of the input images.
        arch: ``"mlp"`` or ``"dcgan"``/``"conv"``.
        width: layer-size multiplier; 32 gives the paper's sizes.
        dropout: dropout rate after each hidden layer (0 for none).
        activation: ``"leaky_relu"`` (slope 0.2) or ``"relu"``.
        name: name of the returned model.

    Returns:
        A functional ``keras.Model`` mapping images to a list of per-layer feature maps (the
        activations after each hidden layer, before dropout), the last of which is flattened.
    """
    _check_arch(arch)
    _check_image_shape(image_shape)
    images = keras.Input(shape=tuple(image_shape), name="images")
    taps = []
    if arch == MLP:
        x = layers.Flatten()(images)
        for units in (16 * width, 8 * width, 4 * width):
            x = layers.Dense(units)(x)
            x = _activation(activation)(x)
            taps.append(x)
            if dropout:
                x = ReplicaDropout(dropout)(x)
    else:
        strides, multipliers = _conv_plan(upsampling_stages(image_shape)[0])
        x = images
        for stride, mult in zip(strides, multipliers):
            x = layers.Conv2D(mult * width, 3, strides=stride, padding="same")(x)
            x = _activation(activation)(x)
            taps.append(x)
            if dropout:
                x = ReplicaDropout(dropout)(x)
        x = layers.Flatten()(x)
    # The last entry is what heads are put on: the (flattened) output of the final block.
    return keras.Model(images, taps + [x], name=name)


def labels_input():
    """The Keras input of class labels: one integer per example."""
    return keras.Input(shape=(), dtype="int32", name="labels")


def one_hot(labels, num_classes):
    """One-hot rows ``[batch, num_classes]`` of integer ``labels`` (a layer, so the model stays
    loadable in Keras safe mode)."""
    return layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot_labels")(labels)


def build_discriminator(image_shape, arch, width=32, dropout=None, feature_layer=None, num_classes=0):
    """The GAN discriminator: image → one real/fake logit (and optionally hidden features).

    Architectures: ``mlp`` 784→512→256→128→1 with LeakyReLU(0.2) and Dropout(0.4); ``dcgan`` convs
    32/64/128/256 (strides 2,1,1,2 at 28×28) with LeakyReLU(0.2) and Dropout(0.25), then Dense(1).

    A class-conditional discriminator (``num_classes > 0``) is a *projection discriminator* (Miyato &
    Koyama, 2018): ``D(x, y) = w·φ(x) + b + e_y·φ(x)`` with ``φ(x)`` the trunk's final features and
    ``e_y`` a learned embedding of class ``y``. The label enters as an inner product with the image's
    features instead of as extra input channels, so the trunk is exactly the unconditional one, the
    discriminator cannot ignore the label, and every GAN loss works unchanged on its logit; the
    authors found it gave better class-conditional samples than feeding the label at the input.

    Args:
        image_shape: ``(height, width, channels)``.
        arch: ``"mlp"`` or ``"dcgan"``.
        width: layer-size multiplier.
        dropout: dropout rate; ``None`` uses the paper's (0.4 for mlp, 0.25 for dcgan).
        feature_layer: if given (1-based), the model also returns the activations of that hidden
            layer, as VAE-GAN's learned similarity metric needs.
        num_classes: classes of a conditional discriminator (0: unconditional).

    Returns:
        ``keras.Model``: images (and, if conditional, ``labels``) → logits ``[batch, 1]``, or →
        ``(logits, features)``.
    """
    if dropout is None:
        dropout = 0.4 if arch == MLP else 0.25
    trunk = image_trunk(image_shape, arch, width, dropout=dropout, name="discriminator_trunk")
    images = keras.Input(shape=tuple(image_shape), name="images")
    inputs = images
    outputs = trunk(images)
    logits = layers.Dense(1, dtype="float32", name="logits")(outputs[-1])
    if num_classes:
        labels = labels_input()
        inputs = [images, labels]
        embedding = layers.Embedding(num_classes, outputs[-1].shape[-1], name="class_projection")(labels)
        projection = layers.Dot(axes=1, dtype="float32", name="projection")([embedding, outputs[-1]])
        logits = layers.Add(dtype="float32", name="conditional_logits")([logits, projection])
    if feature_layer is None:
        return keras.Model(inputs, logits, name="discriminator")
    n_hidden = len(outputs) - 1
    if not 1 <= feature_layer <= n_hidden:
        raise ValueError(
            f"feature_layer must be between 1 and {n_hidden} for this discriminator; got {feature_layer}."
        )
    return keras.Model(inputs, [logits, outputs[feature_layer - 1]], name="discriminator")


def build_encoder(image_shape, arch, latent_dim, width=32, num_classes=0):
    """The VAE encoder: image → (mean, log-variance) of q(z|x).

    ``mlp``: 784→512→128→2·latent with ReLU; ``conv``: the DCGAN discriminator's convolutions
    (LeakyReLU(0.2), no dropout) then Dense(2·latent). A conditional encoder q(z|x, y) (``num_classes
    > 0``) gets the label one-hot, concatenated to the flattened image (mlp) or to the flattened
    convolutional features (conv).

    Args:
        image_shape: ``(height, width, channels)``.
        arch: ``"mlp"`` or ``"conv"``/``"dcgan"``.
        latent_dim: size of z.
        width: layer-size multiplier.
        num_classes: classes of a conditional encoder (0: unconditional).

    Returns:
        ``keras.Model``: images (and, if conditional, ``labels``) → ``(z_mean, z_log_var)``, each
        ``[batch, latent_dim]``.
    """
    _check_latent_dim(latent_dim)
    images = keras.Input(shape=tuple(image_shape), name="images")
    inputs, labels = images, None
    if num_classes:
        labels = labels_input()
        inputs = [images, labels]
    if arch == MLP:
        x = _with_labels(layers.Flatten()(images), labels, num_classes)
        for units in (16 * width, 4 * width):
            x = layers.Dense(units, activation="relu")(x)
    else:
        x = image_trunk(image_shape, arch, width, name="encoder_trunk")(images)[-1]
        x = _with_labels(x, labels, num_classes)
    # Two heads are one Dense(2·latent) split in halves; separate layers keep the model loadable in
    # Keras safe mode (a Lambda split would not be).
    z_mean = layers.Dense(latent_dim, dtype="float32", name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, dtype="float32", name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def _with_labels(x, labels, num_classes):
    """``x`` with the one-hot labels concatenated (``x`` itself when unconditional)."""
    if labels is None:
        return x
    return layers.Concatenate(name="with_labels")([x, one_hot(labels, num_classes)])


def build_generator(image_shape, arch, latent_dim, width=32, out_activation="tanh", mlp_units=None, num_classes=0):
    """The generator (GAN) or decoder (VAE): latent z → image.

    ``mlp``: latent→128→256→512→H·W·C with LeakyReLU(0.2) (GAN) — the VAE passes
    ``mlp_units=(128, 512)`` with ReLU per the paper. ``dcgan``: Dense(latent→base²·256), then 3×3
    transposed convs 128, 64, 32, C (strides 2,1,1,2 at 28×28) with ReLU between.

    Args:
        image_shape: ``(height, width, channels)`` of the images to produce.
        arch: ``"mlp"`` or ``"dcgan"``/``"conv"``.
        latent_dim: size of z.
        width: layer-size multiplier.
        out_activation: ``"tanh"`` for images in [-1, 1], ``"sigmoid"`` for [0, 1], or ``None``.
        mlp_units: hidden sizes of the mlp generator; ``None`` gives the GAN's (4w, 8w, 16w) with
            LeakyReLU, a tuple gives those sizes with ReLU.
        num_classes: classes of a conditional generator G(z, y) (0: unconditional); the label's
            one-hot is concatenated to z.

    Returns:
        ``keras.Model``: ``[batch, latent_dim]`` (and, if conditional, ``labels`` ``[batch]``) →
        ``[batch, H, W, C]``.
    """
    _check_arch(arch)
    _check_image_shape(image_shape)
    _check_latent_dim(latent_dim)
    height, width_px, channels = (int(d) for d in image_shape)
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, labels = z, None
    if num_classes:
        labels = labels_input()
        inputs = [z, labels]
    code = _with_labels(z, labels, num_classes)
    if arch == MLP:
        units, act = (mlp_units, "relu") if mlp_units else ((4 * width, 8 * width, 16 * width), "leaky_relu")
        x = code
        for n in units:
            x = _activation(act)(layers.Dense(n)(x))
        x = layers.Dense(height * width_px * channels, name="pixels")(x)
        x = layers.Reshape((height, width_px, channels))(x)
    else:
        stages, base = upsampling_stages(image_shape)
        strides, multipliers = _conv_plan(stages)
        strides, multipliers = strides[::-1], multipliers[::-1]
        x = layers.Dense(base * base * multipliers[0] * width)(code)
        x = layers.Reshape((base, base, multipliers[0] * width))(x)
        out_filters = [m * width for m in multipliers[1:]] + [channels]
        for i, (filters, stride) in enumerate(zip(out_filters, strides)):
            x = layers.Conv2DTranspose(filters, 3, strides=stride, padding="same")(x)
            if i < len(out_filters) - 1:
                x = layers.ReLU()(x)
    if out_activation:
        # The output activation runs in float32 so images keep full precision under mixed precision.
        x = layers.Activation(out_activation, dtype="float32", name="images")(x)
    return keras.Model(inputs, x, name="generator")


def _activation(name):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.2)
    if name == "relu":
        return layers.ReLU()
    raise ValueError(f"Unknown activation {name!r}: expected 'leaky_relu' or 'relu'.")


def _check_latent_dim(latent_dim):
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}.")
