"""What every kgen model shares: image and latent shapes, seeded noise, labels of a conditional model,
users' own networks, its config; sampling (:mod:`.sampling`), one optimizer per sub-network
(:mod:`.optimizers`) and the generator's average (:mod:`.averaging`) come from their own modules."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kgen.models.averaging import GeneratorAveraging
from kgen.models.latent_prior import fit_gaussian_mixture
from kgen.models.optimizers import OptimizerRoles
from kgen.models.runtime import global_dtype_policy, loading_float32_networks, num_replicas, replica_slice
from kgen.models.sampling import LatentSampler
from kgen.names import LEGACY_ARCHS, REFERENCE_WIDTH

# 2: the architecture names dcgan and mlp mean the networks of kgen.models.networks since kgen 0.2 (see from_config).
NETWORKS_VERSION = 2


class GenerativeModel(LatentSampler, GeneratorAveraging, OptimizerRoles, keras.Model):
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

    archs: tuple = ()
    output_range = (-1.0, 1.0)
    default_latent_dim = 100

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch=None, width=REFERENCE_WIDTH, seed=None,
                 num_classes=0, ema_decay=None, networks_version=NETWORKS_VERSION, **kwargs):
        super().__init__(**kwargs)
        if networks_version != NETWORKS_VERSION:
            raise ValueError(f"networks_version {networks_version!r} is not this kgen's ({NETWORKS_VERSION}): load the "
                             "model with keras.saving.load_model, which reads older versions.")
        arch = self.resolve_arch(arch)
        if width is None or int(width) < 1:
            raise ValueError(f"width must be a positive integer; got {width!r}.")
        if int(num_classes) < 0 or int(num_classes) == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or at least 2; got {num_classes!r}.")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0: no averaging); got {ema_decay!r}.")
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.latent_dim = self.default_latent_dim if latent_dim is None else latent_dim
        self.arch = arch
        self.width = int(width)
        self.seed = seed
        self.ema_decay = ema_decay
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.generator_average = None  # built by average_generator() when averaging is on
        self._own_network_names = []  # sub-networks the user gave instead of an architecture's

    @classmethod
    def real_batches_per_step(cls, **options):
        """Real batches one training step of a model made with constructor arguments ``options`` takes
        (``kgen fit`` multiplies its batch size by this): 1, but for a GAN with several critic steps."""
        return 1

    @property
    def batches_per_step(self):
        """Real batches one training step of this model takes."""
        return 1

    def training_steps(self):
        """Training steps done so far: the iterations of the optimizer that trains the generator."""
        return getattr(self, self.generator_role).iterations

    def own_or_built(self, name, given, build):
        """The sub-network ``name``: the user's ``given`` network (a ``keras.Model``, or its serialised
        form from :meth:`get_config`) or, when ``None``, ``build()``. Users' networks are recorded, so
        :meth:`get_config` serialises them and a saved model loads with them."""
        if given is None:
            return build()
        if isinstance(given, dict):
            given = keras.saving.deserialize_keras_object(given)
        if not isinstance(given, keras.Model):
            raise ValueError(f"{name} must be a keras.Model; got {type(given).__name__}.")
        self._own_network_names.append(name)
        return given

    def check_network(self, name, network, expected_output):
        """Raise ``ValueError`` unless ``network``'s output shape (without the batch) is ``expected_output``."""
        outputs = network.output_shape if isinstance(network.output_shape, list) else [network.output_shape]
        found = tuple(outputs[0][1:])
        if found != tuple(expected_output):
            raise ValueError(f"The {name} must output {tuple(expected_output)} per example; it outputs {found}.")

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
            # cls.__name__.lower() is the name users type (gan, vae, vaegan; see kgen.models.registry).
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
            ema_decay=self.ema_decay,
            networks_version=NETWORKS_VERSION,
        )
        config.update({name: keras.saving.serialize_keras_object(getattr(self, name))
                       for name in self._own_network_names})
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild from :meth:`get_config`; a config of kgen 0.1 (no ``networks_version``) gets the
        architecture its name meant then (``dcgan``/``conv`` → ``paper-dcgan``, ``mlp`` → ``paper-mlp``).
        Within :func:`kgen.models.runtime.float32_networks` the networks compute in float32."""

        config = dict(config)
        if loading_float32_networks():
            config["dtype"] = "float32"
        if config.get("networks_version", 1) < NETWORKS_VERSION:
            if config.get("arch") in LEGACY_ARCHS:
                config["arch"] = LEGACY_ARCHS[config["arch"]]
            config.setdefault("ema_decay", 0.0)  # those models had no average
            config["networks_version"] = NETWORKS_VERSION
        return super().from_config(config)

    def export(self, filepath, format="tf_saved_model", verbose=None, **kwargs):
        """Keras' ``model.export``: write this model as kgen's self-contained SavedModel at ``filepath``
        (the serving signatures of :mod:`kgen.export`: ``serving_default``, ``images``, ``sample``, …).

        ``kgen.export_model`` writes the versioned ``<base>/<name>/<version>/`` layout TF Serving loads.

        Raises:
            ValueError: another ``format`` than ``"tf_saved_model"``.
        """
        if format != "tf_saved_model":
            raise ValueError(f"kgen models export as format='tf_saved_model' only; got {format!r}.")
        from kgen.export import write_savedmodel

        write_savedmodel(self, str(filepath))

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
        conditional model) into images in ``output_range``: a tensor, as calling a Keras model gives
        (:meth:`sample` gives NumPy). Outside training, the generator's weight average makes them when
        the model keeps one."""
        raise NotImplementedError

    def save(self, filepath, *args, **kwargs):
        """Keras' ``model.save``, with the averaged generator's batch-norm statistics measured for its
        weights first (:meth:`refresh_average_statistics`), so the file holds what sampling uses."""
        self.refresh_average_statistics()
        return super().save(filepath, *args, **kwargs)

    def _generate_batch(self, z, labels=None):
        self.refresh_average_statistics()  # the traced function below cannot (it is not eager)
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


def batch_images(data):
    """The images of a batch that may be ``images`` or ``(images, labels[, ...])``."""
    return data[0] if isinstance(data, (tuple, list)) else data


class AutoencodingModel(GenerativeModel):
    """Base of the models with an encoder q(z|x) and a decoder (VAE and VAE-GAN).

    Subclasses build ``self.encoder`` (images → ``(z_mean, z_log_var)``) and ``self.decoder``
    (z → images); a conditional model's encoder and decoder also take the labels.
    """

    generator_network = "decoder"
    has_encoder = True

    def __init__(self, *args, prior_components=0, prior_temperature=1.0, **kwargs):
        """Args as :class:`GenerativeModel`'s, and ``prior_components``: K > 0 gives the model a mixture
        of K Gaussians as its latent prior once :meth:`fit_prior` has fitted it to the encoder's codes
        (unconditional models only); 0: samples come from N(0, I). ``prior_temperature`` T: :meth:`fit_prior`
        scales every fitted covariance by T² (T > 1 trades fidelity for coverage)."""
        super().__init__(*args, **kwargs)
        if int(prior_components) < 0:
            raise ValueError(f"prior_components must be ≥ 0 (0: the prior N(0, I)); got {prior_components!r}.")
        if not float(prior_temperature) > 0:
            raise ValueError(f"prior_temperature must be > 0; got {prior_temperature!r}.")
        if float(prior_temperature) != 1 and not int(prior_components):
            raise ValueError(f"prior_temperature {prior_temperature!r} scales a fitted mixture prior: it needs "
                             "prior_components > 0.")
        if int(prior_components) and self.conditional:
            raise ValueError("A fitted mixture prior is for unconditional models; this one is conditional on "
                             f"{self.num_classes} classes.")
        self.prior_components, self.prior_temperature = int(prior_components), float(prior_temperature)
        if self.prior_components:
            k, d = self.prior_components, self.latent_dim
            # Zero weights until fit_prior: samples come from N(0, I) until then.
            self.prior_weights, self.prior_means, self.prior_cholesky = (
                self.add_weight(shape=shape, initializer="zeros", trainable=False, dtype="float32", name=name)
                for name, shape in (("prior_weights", (k,)), ("prior_means", (k, d)), ("prior_cholesky", (k, d, d))))

    def get_config(self):
        config = super().get_config()
        config.update(prior_components=self.prior_components, prior_temperature=self.prior_temperature)
        return config

    def latent_prior(self):
        """The fitted mixture prior's variables ``(weights, means, cholesky)``, or ``None`` (N(0, I): no
        mixture, or not fitted yet). Called eagerly."""
        if not self.prior_components or not np.any(self.prior_weights.numpy() > 0):
            return None
        return self.prior_weights, self.prior_means, self.prior_cholesky

    def fit_prior(self, codes, seed=0):
        """Fit the model's mixture prior to ``codes`` ``[n, latent_dim]`` (draws of q(z|x) for training
        images; :func:`kgen.training.prior.fit_latent_prior` gathers them): from now on samples, grids,
        evaluation and exports draw their latent vectors from it (:func:`kgen.models.latent_prior.fit_gaussian_mixture`,
        seeded by ``seed``; its covariances scaled by ``prior_temperature``²).

        Raises:
            ValueError: the model has no mixture prior (``prior_components`` 0), or ``codes`` are not
                ``[n ≥ prior_components, latent_dim]``.
        """
        if not self.prior_components:
            raise ValueError("This model samples from N(0, I): make it with prior_components > 0 to fit a prior.")
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim:
            raise ValueError(f"Expected codes [n, {self.latent_dim}]; got shape {codes.shape}.")
        self.set_prior(fit_gaussian_mixture(codes, self.prior_components, seed=seed))

    def set_prior(self, mixture):
        """Sample from ``mixture`` (a :class:`kgen.models.latent_prior.GaussianMixture` of ``prior_components``
        components in the latent space) from now on, its covariances scaled by ``prior_temperature``².

        Raises:
            ValueError: the mixture's shapes are not those of the model's prior (nothing is changed then).
        """
        pairs = list(zip((self.prior_weights, self.prior_means, self.prior_cholesky),
                         (mixture.weights, mixture.means, mixture.cholesky * self.prior_temperature)))
        for variable, value in pairs:  # all checked before any is assigned
            if tuple(np.shape(value)) != tuple(variable.shape):
                raise ValueError(f"Expected a mixture of {self.prior_components} Gaussians in {self.latent_dim} "
                                 f"dimensions; got {variable.name} of shape {tuple(np.shape(value))}.")
        for variable, value in pairs:
            variable.assign(np.asarray(value, "float32"))
        self.forget_average_statistics()  # the average's batch-norm statistics are measured on the prior's draws

    def encode(self, images, labels=None, training=False):
        """``(z_mean, z_log_var)`` of q(z|x) (q(z|x, y) when conditional) for a batch of images in
        ``output_range``."""
        return self.encoder(self.conditioned(images, labels), training=training)

    def decode(self, z, labels=None, training=False):
        """Images (in ``output_range``) decoded from latent vectors ``z`` (and labels when conditional) by
        the decoder that trained with the encoder — its own weights, never their average, so that an
        encoder and a decoder that trained together make every reconstruction and likelihood.
        :meth:`generate` makes samples (with the decoder's average when the model keeps one)."""
        return getattr(self, self.generator_network)(self.conditioned(z, labels), training=training)

    def generate(self, z, labels=None, training=False):
        return self.sampling_network(training)(self.conditioned(z, labels), training=training)

    def reconstruct(self, images, labels=None, training=False):
        """Decode the posterior mean of each image: a deterministic reconstruction (the encoder and the
        decoder that trained together, see :meth:`decode`)."""
        z_mean, _ = self.encode(images, labels, training=training)
        return self.decode(z_mean, labels, training=training)

    def call(self, inputs, training=False):
        """Reconstructions of a batch of images (or of an ``(images, labels)`` pair)."""
        return self.reconstruct(batch_images(inputs), self.batch_labels(inputs), training=training)

    def reparameterize(self, z_mean, z_log_var):
        """Draw z = mean + σ·ε with ε ~ N(0, I) from the model's seed generator."""
        eps = self.normal_noise(tf.shape(z_mean)[0], z_mean.shape[-1])
        return z_mean + tf.exp(0.5 * z_log_var) * eps
