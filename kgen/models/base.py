"""What every kgen model shares: image and latent shapes, seeded noise, sampling, and compiling with
one optimizer per sub-network in a way that survives ``model.save`` / ``keras.saving.load_model``."""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

SAMPLE_CHUNK = 256  # latent vectors are drawn in chunks of this size, each from (seed, chunk index)


def latent_vectors(n, latent_dim, seed=0, offset=0):
    """Deterministic standard-normal latent vectors.

    Vectors are drawn in chunks of ``SAMPLE_CHUNK``, chunk ``k`` from the stateless seed
    ``(seed, k)``, so the i-th vector of a seed is the same whatever ``n`` or the batch size — in
    kgen and in its exported SavedModels alike.

    Args:
        n: number of vectors.
        latent_dim: size of each vector.
        seed: integer seed.
        offset: index of the first vector (a multiple of ``SAMPLE_CHUNK``).

    Returns:
        float32 tensor ``[n, latent_dim]``.
    """
    if offset % SAMPLE_CHUNK:
        raise ValueError(f"offset must be a multiple of {SAMPLE_CHUNK}; got {offset}.")
    first = offset // SAMPLE_CHUNK
    chunks = [
        tf.random.stateless_normal((SAMPLE_CHUNK, latent_dim), seed=tf.constant([seed, k], tf.int64))
        for k in range(first, first + -(-n // SAMPLE_CHUNK))
    ]
    return tf.concat(chunks, axis=0)[:n]


def spread_labels(n, num_classes):
    """Labels of ``n`` images spread evenly over ``num_classes`` classes, in order: image ``i`` gets
    class ``i · num_classes // n`` (so each class gets ``n // num_classes`` or one more).

    Example:
        >>> spread_labels(5, 2).tolist()
        [0, 0, 0, 1, 1]
    """
    return (np.arange(n, dtype=np.int64) * num_classes // n).astype("int32")


class LatentSampler:
    """Deterministic, streamed sampling for anything with ``latent_dim``, ``output_range``,
    ``num_classes`` and ``generate(z, labels)``: kgen's Keras models and their exported SavedModels
    alike."""

    num_classes = 0

    @property
    def conditional(self):
        """Whether the model generates images of a requested class (``num_classes > 0``)."""
        return self.num_classes > 0

    def latent_batch(self, n, seed=0, offset=0):
        """Deterministic standard-normal latent vectors: :func:`latent_vectors` for this model."""
        return latent_vectors(n, self.latent_dim, seed=seed, offset=offset)

    def class_rows_inputs(self, per_class, seed=0):
        """Latent vectors and labels of a class-conditional grid: one row of ``per_class`` images per
        class, column ``j`` of every row from the same latent vector (rows show the classes, columns
        the styles).

        Returns:
            ``(z [classes·per_class, latent_dim] float32 tensor, labels [classes·per_class] int32 NumPy)``.
        """
        if not self.conditional:
            raise ValueError("A grid with one row per class needs a class-conditional model.")
        z = tf.tile(self.latent_batch(per_class, seed=seed), [self.num_classes, 1])
        return z, np.repeat(np.arange(self.num_classes, dtype="int32"), per_class)

    def sample_labels(self, n, labels=None):
        """The class labels of ``n`` samples: ``None`` for an unconditional model.

        Args:
            n: number of samples.
            labels: ``None`` (spread evenly over the classes: :func:`spread_labels`), one class for all,
                or one class per sample.

        Returns:
            int32 NumPy ``[n]``, or ``None`` for an unconditional model.

        Raises:
            ValueError: labels for an unconditional model, a class outside ``[0, num_classes)``, or a
                label count other than ``n``.
        """
        if not self.conditional:
            if labels is not None:
                raise ValueError("This model is not class-conditional: it takes no labels "
                                 "(train one with --conditional).")
            return None
        if labels is None:
            return spread_labels(n, self.num_classes)
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full(n, labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"Expected one integer label or {n} of them; got {labels.dtype} {labels.shape}.")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            bad = labels[(labels < 0) | (labels >= self.num_classes)][0]
            raise ValueError(f"Label {bad} is not a class of this model: expected 0 to {self.num_classes - 1}.")
        return labels.astype("int32")

    def sample_batches(self, n, seed=0, batch_size=SAMPLE_CHUNK, labels=None):
        """Yield ``n`` generated images as float32 NumPy batches, streaming (memory ∝ batch size).

        Args:
            n: total number of images (> 0).
            seed: integer seed; the same seed gives the same images.
            batch_size: images per yielded batch; rounded up to a multiple of ``SAMPLE_CHUNK``.
            labels: classes of a conditional model's images (see :meth:`sample_labels`).

        Yields:
            float32 arrays ``[b, H, W, C]`` in ``output_range``.
        """
        if int(n) < 1:
            raise ValueError(f"The number of samples must be a positive integer; got {n}.")
        labels = self.sample_labels(n, labels)
        step = max(SAMPLE_CHUNK, -(-batch_size // SAMPLE_CHUNK) * SAMPLE_CHUNK)
        for start in range(0, n, step):
            z = self.latent_batch(min(step, n - start), seed=seed, offset=start)
            batch_labels = None if labels is None else labels[start:start + len(z)]
            yield np.asarray(self._generate_batch(z, batch_labels), dtype="float32")

    def sample(self, n, seed=0, labels=None):
        """``n`` generated images, float32 NumPy ``[n, H, W, C]`` in ``output_range``.

        Example:
            >>> images = model.sample(64, seed=1)  # doctest: +SKIP
            >>> shirts = conditional_model.sample(64, seed=1, labels=6)  # doctest: +SKIP
        """
        return np.concatenate(list(self.sample_batches(n, seed=seed, labels=labels)), axis=0)

    def _generate_batch(self, z, labels=None):
        return self.generate(z, labels, training=False)


class GenerativeModel(LatentSampler, keras.Model):
    """Base class of kgen's models: a generator of images from a latent space.

    Subclasses set the class attributes below, build their sub-networks in ``__init__`` and implement
    ``train_step``, ``test_step`` and ``generate``.

    Class attributes:
        optimizer_roles: mapping of ``compile`` keyword (e.g. ``"d_optimizer"``) to the attribute
            names of the sub-networks that optimizer trains (e.g. ``("discriminator",)``).
        archs: architecture names the model accepts.
        output_range: ``(low, high)`` of the pixel values the generator produces; the data pipeline
            scales real images to the same range.
        default_latent_dim, default_learning_rate, default_beta_1: defaults used by ``kgen fit``.

    A model made with ``num_classes > 0`` is class-conditional: its networks take a label per image
    besides images or z, training batches are ``(images, labels)``, and ``generate`` needs labels.
    """

    optimizer_roles: dict = {}
    archs: tuple = ()
    output_range = (-1.0, 1.0)
    default_latent_dim = 100
    default_learning_rate = 2e-4
    default_beta_1 = 0.5

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch=None, width=32, seed=None, num_classes=0,
                 **kwargs):
        super().__init__(**kwargs)
        arch = self.resolve_arch(arch)
        if width is None or int(width) < 1:
            raise ValueError(f"width must be a positive integer; got {width!r}.")
        if int(num_classes) < 0 or int(num_classes) == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or at least 2; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.latent_dim = self.default_latent_dim if latent_dim is None else latent_dim
        self.arch = arch
        self.width = int(width)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def network_policy(self):
        """Context in which subclasses build their sub-networks: the model's own dtype policy, so a
        model made under a mixed-precision policy computes in it — also when loaded from a file."""
        return global_dtype_policy(self.dtype_policy)

    @classmethod
    def resolve_arch(cls, arch):
        """``arch``, or the model's default architecture for ``None``.

        Raises:
            ValueError: the model has no such architecture; the message lists those it has.
        """
        arch = arch or cls.archs[0]
        if arch not in cls.archs:
            # cls.__name__.lower() is the name users type (gan, vae, vaegan; see kgen.registry).
            raise ValueError(
                f"Unknown architecture {arch!r} for {cls.__name__.lower()}: expected one of {', '.join(cls.archs)}."
            )
        return arch

    # ----------------------------------------------------------------------------- configuration
    def get_config(self):
        """The constructor arguments; ``type(model).from_config(model.get_config())`` rebuilds it."""
        config = super().get_config()
        config.update(
            image_shape=list(self.image_shape),
            latent_dim=self.latent_dim,
            arch=self.arch,
            width=self.width,
            seed=self.seed,
            num_classes=self.num_classes,
        )
        return config

    # --------------------------------------------------------------------------------- compiling
    def _compile_roles(self, optimizers, **kwargs):
        """Compile with one optimizer per sub-network; ``None`` entries get the model's default."""
        # optimizer=None: Keras would otherwise create an unused RMSprop as `self.optimizer`.
        super().compile(optimizer=None, **kwargs)
        for role in self.optimizer_roles:
            optimizer = optimizers.get(role)
            if optimizer is None:
                optimizer = self.default_optimizer()
            setattr(self, role, keras.optimizers.get(optimizer))
        self._kgen_compile_kwargs = dict(kwargs)

    def default_optimizer(self):
        """The optimizer used for a sub-network when ``compile`` is given none."""
        return keras.optimizers.Adam(self.default_learning_rate, beta_1=self.default_beta_1)

    def get_compile_config(self):
        """Serialised optimizers (and compile options), so a loaded model is compiled the same way."""
        if not self.compiled:
            return {}
        config = {role: keras.saving.serialize_keras_object(getattr(self, role)) for role in self.optimizer_roles}
        config.update(getattr(self, "_kgen_compile_kwargs", {}))
        return config

    def compile_from_config(self, config):
        """Compile from ``get_compile_config()`` and build every optimizer, so its state can load."""
        config = dict(config)
        optimizers = {role: keras.saving.deserialize_keras_object(config.pop(role)) for role in self.optimizer_roles if role in config}
        self.compile(**optimizers, **config)
        self.build_optimizers()

    def build_optimizers(self):
        """Create every optimizer's slot variables for the weights it trains."""
        for role in self.optimizer_roles:
            optimizer = getattr(self, role)
            if not optimizer.built:
                optimizer.build(self.role_variables(role))

    def role_variables(self, role):
        """The trainable variables of the sub-networks that the optimizer ``role`` trains."""
        return [v for name in self.optimizer_roles[role] for v in getattr(self, name).trainable_variables]

    def role_gradients(self, role, tape, loss):
        """Gradients of ``loss`` (recorded on ``tape``) w.r.t. the weights the optimizer ``role`` trains,
        ready for that optimizer.

        Under a distribution strategy each replica's loss is the mean over its share of the batch and
        the optimizer sums the replicas' gradients: the gradients are divided by the replica count, so
        the update is that of the mean over the global batch. For a LossScaleOptimizer
        (``mixed_float16``) they are the gradients of the loss times its scale; it unscales them and
        skips the step when they overflowed.
        """
        optimizer = getattr(self, role)
        factor = 1.0 / num_replicas()
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            factor = optimizer.scale_loss(factor)
        return tape.gradient(loss, self.role_variables(role), output_gradients=tf.cast(factor, loss.dtype))

    def apply_gradients(self, role, tape, loss):
        """One optimizer step of a sub-network: gradients of ``loss`` w.r.t. its trainable weights.

        Args:
            role: the ``compile`` keyword of the optimizer (a key of ``optimizer_roles``).
            tape: the ``tf.GradientTape`` that recorded ``loss``.
            loss: scalar loss tensor.
        """
        getattr(self, role).apply_gradients(zip(self.role_gradients(role, tape, loss), self.role_variables(role)))

    def normal_noise(self, batch, *dims):
        """Standard-normal noise ``[batch, *dims]`` from the model's seed generator.

        Under a distribution strategy every replica draws the noise of the global batch and keeps its
        own slice, so replicas get different noise, and the draws are those of a one-device run of
        the same global batch.
        """
        return self._replica_noise(keras.random.normal, batch, dims)

    def uniform_noise(self, batch, *dims):
        """Uniform noise in [0, 1) ``[batch, *dims]``, drawn like :meth:`normal_noise`."""
        return self._replica_noise(keras.random.uniform, batch, dims)

    def _replica_noise(self, draw, batch, dims):
        replicas = num_replicas()
        if replicas == 1:
            return draw((batch, *dims), seed=self.seed_generator)
        return replica_slice(draw((batch * replicas, *dims), seed=self.seed_generator), batch)

    # ------------------------------------------------------------------------------- generating
    def conditioned(self, x, labels):
        """What a network of this model takes: ``x`` alone, or ``[x, labels]`` when conditional.

        Raises:
            ValueError: labels are missing for a conditional model, or given to an unconditional one.
        """
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"This {type(self).__name__} is not class-conditional: it takes no labels.")
            return x
        if labels is None:
            raise ValueError(f"This {type(self).__name__} is conditional on {self.num_classes} classes: "
                             "give a label per image.")
        return [tf.convert_to_tensor(x), tf.cast(labels, "int32")]

    def batch_labels(self, data):
        """The labels of a training batch for a conditional model (``None`` when unconditional)."""
        if not self.conditional:
            return None
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError(f"This {type(self).__name__} is class-conditional: it trains on (images, labels) batches.")
        return data[1]

    def generate(self, z, labels=None, training=False):
        """Decode latent vectors ``z`` ``[batch, latent_dim]`` (of classes ``labels`` ``[batch]`` for a
        conditional model) into images in ``output_range``."""
        raise NotImplementedError

    def _generate_batch(self, z, labels=None):
        # One traced function per model for sampling (eager calls of a big generator are slow).
        if getattr(self, "_generate_compiled", None) is None:
            z_spec = tf.TensorSpec((None, self.latent_dim), tf.float32)
            if self.conditional:
                self._generate_compiled = tf.function(
                    lambda z, labels: self.generate(z, labels, training=False),
                    input_signature=[z_spec, tf.TensorSpec((None,), tf.int32)],
                )
            else:
                self._generate_compiled = tf.function(lambda z: self.generate(z, training=False),
                                                      input_signature=[z_spec])
        return self._generate_compiled(z) if labels is None else self._generate_compiled(z, labels)


@contextlib.contextmanager
def global_dtype_policy(policy):
    """Within the context, new layers get the Keras dtype policy ``policy`` (a name or a policy)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def num_replicas():
    """Replicas training in sync: 1 without a distribution strategy."""
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


def replica_slice(global_values, batch):
    """This replica's ``batch`` rows of values drawn for the whole global batch (all of them without a
    distribution strategy)."""
    replicas = num_replicas()
    if replicas == 1:
        return global_values
    start = tf.distribute.get_replica_context().replica_id_in_sync_group * batch
    return global_values[start:start + batch]


def batch_images(data):
    """The images of a batch that may be ``images`` or ``(images, labels[, ...])``."""
    return data[0] if isinstance(data, (tuple, list)) else data


class AutoencodingModel(GenerativeModel):
    """Base of the models with an encoder q(z|x) and a decoder (VAE and VAE-GAN).

    Subclasses build ``self.encoder`` (images → ``(z_mean, z_log_var)``) and ``self.decoder``
    (z → images); a conditional model's encoder and decoder also take the labels.
    """

    def encode(self, images, labels=None, training=False):
        """``(z_mean, z_log_var)`` of q(z|x) (q(z|x, y) when conditional) for a batch of images in
        ``output_range``."""
        return self.encoder(self.conditioned(images, labels), training=training)

    def decode(self, z, labels=None, training=False):
        """Images (in ``output_range``) decoded from latent vectors ``z`` (and labels when conditional)."""
        return self.decoder(self.conditioned(z, labels), training=training)

    def generate(self, z, labels=None, training=False):
        return self.decode(z, labels, training=training)

    def reconstruct(self, images, labels=None, training=False):
        """Decode the posterior mean of each image: a deterministic reconstruction."""
        z_mean, _ = self.encode(images, labels, training=training)
        return self.decode(z_mean, labels, training=training)

    def call(self, inputs, training=False):
        """Reconstructions of a batch of images (or of an ``(images, labels)`` pair)."""
        return self.reconstruct(batch_images(inputs), self.batch_labels(inputs), training=training)

    def reparameterize(self, z_mean, z_log_var):
        """Draw z = mean + σ·ε with ε ~ N(0, I) from the model's seed generator."""
        eps = self.normal_noise(tf.shape(z_mean)[0], z_mean.shape[-1])
        return z_mean + tf.exp(0.5 * z_log_var) * eps
