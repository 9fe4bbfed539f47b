"""Builders of the sub-networks shared by every kgen model.

GAN, VAE and VAE-GAN are assembled from the same three kinds of network so that a comparison between
them is fair: an image-to-features *trunk* (the discriminator's body, reused as the VAE encoder), a
latent-to-image *generator* (the VAE decoder) and small heads on top.

Four architectures exist for each network:

* ``dcgan`` (the default): the DCGAN of Radford et al. (2015) as it is commonly meant — 4×4
  convolutions of stride 2, batch normalisation in the generator (not on its output) and in the
  discriminator (not on its input), ReLU in the generator (also right after the latent projection),
  LeakyReLU(0.2) in the discriminator, weights drawn from N(0, 0.02) — with one fully connected
  layer of 1024 units (``32·width``) in each network, as in InfoGAN's MNIST networks (Chen et al.,
  2016). The number of stride-2 stages follows the image size (two for 28×28 and 32×32, three for
  64×64).
* ``mlp``: fully connected networks in the same spirit: batch-normalised ReLU layers in the generator,
  LeakyReLU layers in the discriminator.
* ``paper-dcgan`` and ``paper-mlp``: the networks of the reference comparison (Banerjee, "GAN vs VAE")
  exactly as its tables give them — 3×3 convolutions with stride-1 layers and dropout, no batch
  normalisation, no nonlinearity after the generator's projection, Glorot initialisation. They train
  slower per minute and are kept for the experiments that reproduce that paper.

``width`` scales every layer: the reference sizes are those of ``width=32``.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from kgen.models.runtime import num_replicas, replica_slice

from kgen.names import ARCHS, DCGAN, MLP, PAPER_DCGAN, PAPER_MLP, REFERENCE_WIDTH
CONV_ARCHS = (DCGAN, PAPER_DCGAN)
NORMS = ("batch", "layer", None)  # the discriminator's normalisation (dcgan); "layer" for gradient-penalty critics

MAX_BASE_SIZE = 8  # the generator's first feature map is at most 8×8
MIN_CONV_LAYERS = 4  # paper-dcgan
KERNEL = 4  # dcgan: 4×4 kernels, divisible by the stride (no checkerboard from uneven overlaps)


def dcgan_init():
    """N(0, 0.02), the initialisation of Radford et al."""
    return keras.initializers.RandomNormal(0.0, 0.02)


@keras.saving.register_keras_serializable(package="kgen")
class ReplicaDropout(layers.Dropout):
    """Dropout whose mask is drawn for the global batch: under a distribution strategy each replica
    keeps its slice, so replicas drop different units and training matches a one-device run of the
    same global batch (Keras' Dropout would give every replica the same mask).

    The masks come from random bits, not from one float per unit as in Keras' Dropout: a 32-bit
    random word yields four masks when the rate is a multiple of 1/256 (the DCGAN's 0.25), else two,
    with the rate rounded to 1/65536. On a CPU they cost a DCGAN step a fraction of what float masks do
    (docs/performance.md, ``kgen bench --plain``). Set ``cheap_masks = False``
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


@keras.saving.register_keras_serializable(package="kgen")
class LeakyReLU(layers.LeakyReLU):
    """Keras' LeakyReLU, its gradient computed from the layer's output instead of its input (the same
    values: both have the same sign).

    TensorFlow's graph optimizer fuses a convolution, its bias and the LeakyReLU after it into one
    oneDNN op, but Keras' LeakyReLU gradient also reads the convolution's output; the fusion then fails
    for the whole training function (``remapper failed: … LeakyReluGrad …`` on stderr) and keeps none of
    its fusions. With this layer the fusions hold and the error line is gone (the speed-up measured is
    small: docs/performance.md).
    """

    def call(self, inputs):
        slope = self.negative_slope

        @tf.custom_gradient
        def leaky_relu(x):
            y = tf.nn.leaky_relu(x, alpha=slope)
            return y, lambda dy: tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=slope)

        return leaky_relu(inputs)


def minibatch_stddev(features, group_size):
    """The minibatch standard deviation of Karras et al. (2018), one value per image.

    The batch is split into groups of ``group_size`` images (image ``i`` in group ``i mod (n / group_size)``, as
    a reshape to ``[group_size, n / group_size, …]`` splits it); each image gets the standard deviation of every
    feature over its group, averaged over the features. A batch whose size ``group_size`` does not divide is one
    group. Computed in float32 whatever the input's type.

    Args:
        features: ``[n, …]`` features of ``n`` images.
        group_size: images per group (≥ 2).

    Returns:
        ``[n]`` float32 tensor.
    """
    n = tf.shape(features)[0]
    group = tf.where(n % group_size == 0, group_size, n)
    grouped = tf.reshape(tf.cast(features, tf.float32), [group, n // group, -1])
    spread = tf.sqrt(tf.math.reduce_variance(grouped, axis=0) + 1e-8)
    return tf.tile(tf.reduce_mean(spread, axis=-1), [group])


@keras.saving.register_keras_serializable(package="kgen")
class MinibatchStdDev(layers.Layer):
    """Appends one feature map to a batch of feature maps: each image's :func:`minibatch_stddev` over its group,
    the same at every position. A discriminator that sees it can tell a batch of too-alike images from a real
    one (ProGAN's remedy for a generator that covers too little of the data's variety)."""

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 2:
            raise ValueError(f"group_size must be an integer ≥ 2; got {group_size!r}.")
        self.group_size = int(group_size)

    def call(self, inputs):
        spread = tf.cast(minibatch_stddev(inputs, self.group_size), inputs.dtype)
        plane = tf.ones_like(inputs[..., :1]) * spread[:, None, None, None]
        return tf.concat([inputs, plane], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


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
    """paper-dcgan: strides and relative widths of the conv layers, from the image (discriminator order).

    The paper's 28×28 plan is strides (2, 1, 1, 2) with filters 32, 64, 128, 256. More stages replace
    stride-1 layers by stride-2 ones; more than four stages add layers.
    """
    n_layers = max(MIN_CONV_LAYERS, stages)
    strides = [2] + [1] * (n_layers - stages) + [2] * (stages - 1)
    multipliers = [min(2**i, 16) for i in range(n_layers)]
    return strides, multipliers


def dcgan_filters(stages, width):
    """dcgan: the discriminator's filters per stage, from the image: 2w, 4w, 8w, … (64, 128 at 28×28)."""
    return [2 * width * 2**i for i in range(stages)]


def batch_norm():
    """Batch normalisation; under a distribution strategy with statistics over the global batch, so that
    replicas train as one device on the same batch would (outside one, Keras' usual two-pass moments)."""
    return layers.BatchNormalization(synchronized=tf.distribute.has_strategy())


def _normalization(norm, features_axis_only=False):
    if norm == "batch":
        return batch_norm()
    if norm == "layer":  # over each example's whole feature map, as WGAN-GP's critics
        return layers.LayerNormalization(axis=-1 if features_axis_only else (-3, -2, -1))
    raise ValueError(f"Unknown normalisation {norm!r}: expected one of {', '.join(map(str, NORMS))}.")


def _dcgan_trunk(images, image_shape, width, dropout, norm, activation, minibatch_std=0):
    x, taps = images, []
    for i, filters in enumerate(dcgan_filters(upsampling_stages(image_shape)[0], width)):
        normalised = i > 0 and norm is not None  # never on the input layer
        x = layers.Conv2D(filters, KERNEL, strides=2, padding="same", use_bias=not normalised,
                          kernel_initializer=dcgan_init())(x)
        if normalised:
            x = _normalization(norm)(x)
        x = _activation(activation)(x)
        taps.append(x)
        if dropout:
            x = ReplicaDropout(dropout)(x)
    if minibatch_std:
        x = MinibatchStdDev(minibatch_std)(x)
    # A fully connected layer of 32w units on top, as InfoGAN's MNIST networks: it raised the quality per
    # minute of training (docs/quality.md, "How the defaults were chosen").
    x = layers.Dense(32 * width, use_bias=norm is None, kernel_initializer=dcgan_init())(layers.Flatten()(x))
    if norm is not None:
        x = _normalization(norm, features_axis_only=True)(x)
    x = _activation(activation)(x)
    taps.append(x)
    if dropout:
        x = ReplicaDropout(dropout)(x)
    return x, taps


def _mlp_trunk(images, image_shape, width, dropout, norm, activation):
    x, taps = layers.Flatten()(images), []
    for units in (16 * width, 8 * width):
        x = _activation(activation)(layers.Dense(units)(x))
        taps.append(x)
        if dropout:
            x = ReplicaDropout(dropout)(x)
    return x, taps


def _paper_conv_trunk(images, image_shape, width, dropout, norm, activation):
    strides, multipliers = _conv_plan(upsampling_stages(image_shape)[0])
    x, taps = images, []
    for stride, mult in zip(strides, multipliers):
        x = _activation(activation)(layers.Conv2D(mult * width, 3, strides=stride, padding="same")(x))
        taps.append(x)
        if dropout:
            x = ReplicaDropout(dropout)(x)
    return layers.Flatten()(x), taps


def _paper_mlp_trunk(images, image_shape, width, dropout, norm, activation):
    x, taps = layers.Flatten()(images), []
    for units in (16 * width, 8 * width, 4 * width):
        x = _activation(activation)(layers.Dense(units)(x))
        taps.append(x)
        if dropout:
            x = ReplicaDropout(dropout)(x)
    return x, taps


_TRUNKS = {DCGAN: _dcgan_trunk, MLP: _mlp_trunk, PAPER_DCGAN: _paper_conv_trunk, PAPER_MLP: _paper_mlp_trunk}


def image_trunk(image_shape, arch, width=REFERENCE_WIDTH, dropout=0.0, norm=None, activation="leaky_relu",
                name="trunk", minibatch_std=0):
    """The image-to-features body shared by the discriminator and the encoder.

    Args:
        image_shape: ``(height, width, channels)`` of the input images.
        arch: one of :data:`ARCHS`.
        width: layer-size multiplier; 32 gives the reference sizes.
        dropout: dropout rate after each hidden layer (0 for none).
        norm: ``dcgan`` only: ``"batch"``, ``"layer"`` or ``None``, on every layer but the first.
        activation: ``"leaky_relu"`` (slope 0.2) or ``"relu"``.
        name: name of the returned model.
        minibatch_std: ``dcgan`` only: if > 0, a :class:`MinibatchStdDev` feature map over groups of this many
            images is appended to the last convolution's output, before the dense layer (0: none).

    Returns:
        A functional ``keras.Model`` mapping images to a list of per-layer feature maps (the
        activations after each hidden layer, before dropout), the last of which is flattened.
    """
    _check_arch(arch)
    _check_image_shape(image_shape)
    if norm not in NORMS:
        _normalization(norm)  # raises with the list of names
    images = keras.Input(shape=tuple(image_shape), name="images")
    if minibatch_std and arch != DCGAN:
        raise ValueError(f"The minibatch standard deviation is built into the {DCGAN} trunk only; got arch {arch!r}.")
    options = {"minibatch_std": minibatch_std} if minibatch_std else {}
    x, taps = _TRUNKS[arch](images, image_shape, width, dropout, norm, activation, **options)
    # The last entry is what heads are put on: the (flattened) output of the final block.
    return keras.Model(images, taps + [x], name=name)


def labels_input():
    """The Keras input of class labels: one integer per example."""
    return keras.Input(shape=(), dtype="int32", name="labels")


def one_hot(labels, num_classes):
    """One-hot rows ``[batch, num_classes]`` of integer ``labels`` (a layer, so the model stays
    loadable in Keras safe mode)."""
    return layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot_labels")(labels)


def _head_initializer(arch):
    return dcgan_init() if arch == DCGAN else "glorot_uniform"


PAPER_DROPOUT = {PAPER_MLP: 0.4, PAPER_DCGAN: 0.25}


def build_discriminator(image_shape, arch, width=REFERENCE_WIDTH, dropout=None, feature_layer=None, num_classes=0,
                        norm="batch", minibatch_std=0):
    """The GAN discriminator: image → one real/fake logit (and optionally hidden features).

    Architectures: ``dcgan`` convs 64/128 (4×4, stride 2 at 28×28; 256 more at 64×64) and a dense layer
    of 1024 units, with batch normalisation after all but the first and LeakyReLU(0.2), then Dense(1);
    ``mlp`` 784→512→256→1 with LeakyReLU(0.2); ``paper-mlp`` 784→512→256→128→1 with LeakyReLU(0.2) and Dropout(0.4);
    ``paper-dcgan`` 3×3 convs 32/64/128/256 (strides 2,1,1,2 at 28×28) with LeakyReLU(0.2) and
    Dropout(0.25), then Dense(1).

    A class-conditional discriminator (``num_classes > 0``) is a *projection discriminator* (Miyato &
    Koyama, 2018): ``D(x, y) = w·φ(x) + b + e_y·φ(x)`` with ``φ(x)`` the trunk's final features and
    ``e_y`` a learned embedding of class ``y``. The label enters as an inner product with the image's
    features instead of as extra input channels, so the trunk is exactly the unconditional one, the
    discriminator cannot ignore the label, and every GAN loss works unchanged on its logit; the
    authors found it gave better class-conditional samples than feeding the label at the input.

    Args:
        image_shape: ``(height, width, channels)``.
        arch: one of :data:`ARCHS`.
        width: layer-size multiplier.
        dropout: dropout rate; ``None`` uses the architecture's (0.4 for paper-mlp, 0.25 for
            paper-dcgan, none otherwise).
        feature_layer: if given (1-based; ``-1`` for the last hidden layer), the model also returns the
            activations of that hidden layer, as VAE-GAN's learned similarity metric needs.
        num_classes: classes of a conditional discriminator (0: unconditional).
        norm: the ``dcgan`` discriminator's normalisation: ``"batch"`` (Radford et al.), ``"layer"``
            (for critics with a gradient penalty, which batch statistics would couple across images)
            or ``None``.
        minibatch_std: ``dcgan`` only: group size of a minibatch standard deviation feature map before the
            dense layer (:class:`MinibatchStdDev`); 0: none.

    Returns:
        ``keras.Model``: images (and, if conditional, ``labels``) → logits ``[batch, 1]``, or →
        ``(logits, features)``.
    """
    if dropout is None:
        dropout = PAPER_DROPOUT.get(arch, 0.0)
    trunk = image_trunk(image_shape, arch, width, dropout=dropout, norm=norm, name="discriminator_trunk",
                        minibatch_std=minibatch_std)
    images = keras.Input(shape=tuple(image_shape), name="images")
    inputs = images
    outputs = trunk(images)
    logits = layers.Dense(1, dtype="float32", kernel_initializer=_head_initializer(arch), name="logits")(outputs[-1])
    if num_classes:
        labels = labels_input()
        inputs = [images, labels]
        embedding = layers.Embedding(num_classes, outputs[-1].shape[-1], name="class_projection")(labels)
        projection = layers.Dot(axes=1, dtype="float32", name="projection")([embedding, outputs[-1]])
        logits = layers.Add(dtype="float32", name="conditional_logits")([logits, projection])
    if feature_layer is None:
        return keras.Model(inputs, logits, name="discriminator")
    n_hidden = len(outputs) - 1
    if feature_layer == -1:
        feature_layer = n_hidden
    if not 1 <= feature_layer <= n_hidden:
        raise ValueError(
            f"feature_layer must be between 1 and {n_hidden} for this discriminator; got {feature_layer}."
        )
    return keras.Model(inputs, [logits, outputs[feature_layer - 1]], name="discriminator")


def build_encoder(image_shape, arch, latent_dim, width=REFERENCE_WIDTH, num_classes=0):
    """The VAE encoder: image → (mean, log-variance) of q(z|x).

    The discriminator's trunk of the same architecture without dropout (``dcgan``: with batch
    normalisation), then Dense(2·latent); ``paper-mlp`` is the reference comparison's
    784→512→128→2·latent with ReLU. A conditional encoder q(z|x, y) (``num_classes > 0``) gets the
    label one-hot, concatenated to the flattened trunk features.

    Args:
        image_shape: ``(height, width, channels)``.
        arch: one of :data:`ARCHS`.
        latent_dim: size of z.
        width: layer-size multiplier.
        num_classes: classes of a conditional encoder (0: unconditional).

    Returns:
        ``keras.Model``: images (and, if conditional, ``labels``) → ``(z_mean, z_log_var)``, each
        ``[batch, latent_dim]``.
    """
    _check_arch(arch)
    _check_latent_dim(latent_dim)
    images = keras.Input(shape=tuple(image_shape), name="images")
    inputs, labels = images, None
    if num_classes:
        labels = labels_input()
        inputs = [images, labels]
    if arch == PAPER_MLP:
        x = _with_labels(layers.Flatten()(images), labels, num_classes)
        for units in (16 * width, 4 * width):
            x = layers.Dense(units, activation="relu")(x)
    else:
        norm = "batch" if arch == DCGAN else None
        x = image_trunk(image_shape, arch, width, norm=norm, name="encoder_trunk")(images)[-1]
        x = _with_labels(x, labels, num_classes)
    # Two heads are one Dense(2·latent) split in halves; separate layers keep the model loadable in
    # Keras safe mode (a Lambda split would not be).
    init = _head_initializer(arch)
    z_mean = layers.Dense(latent_dim, dtype="float32", kernel_initializer=init, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, dtype="float32", kernel_initializer=init, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def _with_labels(x, labels, num_classes):
    """``x`` with the one-hot labels concatenated (``x`` itself when unconditional)."""
    if labels is None:
        return x
    return layers.Concatenate(name="with_labels")([x, one_hot(labels, num_classes)])


def _dcgan_generator(code, image_shape, width, paper_vae):
    stages, base = upsampling_stages(image_shape)
    filters = dcgan_filters(stages, width)[::-1]  # 128, 64 at 28×28
    x = layers.Dense(32 * width, use_bias=False, kernel_initializer=dcgan_init())(code)  # InfoGAN's 1024 units
    x = layers.ReLU()(batch_norm()(x))
    x = layers.Dense(base * base * filters[0], use_bias=False, kernel_initializer=dcgan_init())(x)
    x = layers.ReLU()(batch_norm()(x))
    x = layers.Reshape((base, base, filters[0]))(x)
    for f in filters[1:]:
        x = layers.Conv2DTranspose(f, KERNEL, strides=2, padding="same", use_bias=False,
                                   kernel_initializer=dcgan_init())(x)
        x = layers.ReLU()(batch_norm()(x))
    return layers.Conv2DTranspose(image_shape[-1], KERNEL, strides=2, padding="same",
                                  kernel_initializer=dcgan_init())(x)


def _mlp_generator(code, image_shape, width, paper_vae):
    x = code
    for units in (8 * width, 16 * width, 32 * width):
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.ReLU()(batch_norm()(x))
    height, width_px, channels = image_shape
    return layers.Reshape((height, width_px, channels))(layers.Dense(height * width_px * channels, name="pixels")(x))


def _paper_conv_generator(code, image_shape, width, paper_vae):
    stages, base = upsampling_stages(image_shape)
    strides, multipliers = _conv_plan(stages)
    strides, multipliers = strides[::-1], multipliers[::-1]
    x = layers.Dense(base * base * multipliers[0] * width)(code)
    x = layers.Reshape((base, base, multipliers[0] * width))(x)
    out_filters = [m * width for m in multipliers[1:]] + [image_shape[-1]]
    for i, (filters, stride) in enumerate(zip(out_filters, strides)):
        x = layers.Conv2DTranspose(filters, 3, strides=stride, padding="same")(x)
        if i < len(out_filters) - 1:
            x = layers.ReLU()(x)
    return x


def _paper_mlp_generator(code, image_shape, width, paper_vae):
    # The paper's VAE decoder is latent→128→512→784 with ReLU; its GAN generator latent→128→256→512→784
    # with LeakyReLU(0.2).
    units, act = ((4 * width, 16 * width), "relu") if paper_vae else ((4 * width, 8 * width, 16 * width), "leaky_relu")
    x = code
    for n in units:
        x = _activation(act)(layers.Dense(n)(x))
    height, width_px, channels = image_shape
    return layers.Reshape((height, width_px, channels))(layers.Dense(height * width_px * channels, name="pixels")(x))


_GENERATORS = {DCGAN: _dcgan_generator, MLP: _mlp_generator, PAPER_DCGAN: _paper_conv_generator,
               PAPER_MLP: _paper_mlp_generator}


def build_generator(image_shape, arch, latent_dim, width=REFERENCE_WIDTH, out_activation="tanh", num_classes=0,
                    paper_vae=False):
    """The generator (GAN) or decoder (VAE): latent z → image.

    ``dcgan``: Dense(latent→32w = 1024), Dense(→base²·4w), each with batch normalisation and ReLU, then
    4×4 transposed convs of stride 2 (64 filters, then the image's channels at 28×28), batch-normalised
    ReLU between.
    ``mlp``: latent→256→512→1024→H·W·C, batch-normalised ReLU. ``paper-dcgan``: Dense(latent→base²·8w),
    then 3×3 transposed convs 128, 64, 32, C (strides 2,1,1,2 at 28×28) with ReLU between.
    ``paper-mlp``: latent→128→256→512→H·W·C with LeakyReLU(0.2) (the GAN's) or, with ``paper_vae``,
    latent→128→512→H·W·C with ReLU (the VAE's).

    Args:
        image_shape: ``(height, width, channels)`` of the images to produce.
        arch: one of :data:`ARCHS`.
        latent_dim: size of z.
        width: layer-size multiplier.
        out_activation: ``"tanh"`` for images in [-1, 1], ``"sigmoid"`` for [0, 1], or ``None``.
        num_classes: classes of a conditional generator G(z, y) (0: unconditional); the label's
            one-hot is concatenated to z.
        paper_vae: ``paper-mlp`` only: the reference comparison's VAE decoder instead of its GAN generator.

    Returns:
        ``keras.Model``: ``[batch, latent_dim]`` (and, if conditional, ``labels`` ``[batch]``) →
        ``[batch, H, W, C]``.
    """
    _check_arch(arch)
    _check_image_shape(image_shape)
    _check_latent_dim(latent_dim)
    z = keras.Input(shape=(latent_dim,), name="z")
    inputs, labels = z, None
    if num_classes:
        labels = labels_input()
        inputs = [z, labels]
    code = _with_labels(z, labels, num_classes)
    x = _GENERATORS[arch](code, tuple(int(d) for d in image_shape), width, paper_vae)
    if out_activation:
        # The output activation runs in float32 so images keep full precision under mixed precision.
        x = layers.Activation(out_activation, dtype="float32", name="images")(x)
    return keras.Model(inputs, x, name="generator")


def _activation(name):
    if name == "leaky_relu":
        return LeakyReLU(negative_slope=0.2)
    if name == "relu":
        return layers.ReLU()
    raise ValueError(f"Unknown activation {name!r}: expected 'leaky_relu' or 'relu'.")


def _check_latent_dim(latent_dim):
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}.")
