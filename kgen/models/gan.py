"""The GAN of Goodfellow et al. (2014), in the MLP and DCGAN architectures of the reference comparison
(Banerjee, "GAN vs VAE"), with the non-saturating loss by default and the minimax, least-squares, hinge
and Wasserstein-with-gradient-penalty losses by name."""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen import losses
from kgen.models import networks
from kgen.models.base import GenerativeModel, batch_images


@keras.saving.register_keras_serializable(package="kgen")
class GAN(GenerativeModel):
    """Generative adversarial network: a generator G(z) and a discriminator D(x) → logit.

    Each training step follows the paper's algorithm: draw noise, generate, update D on a real batch
    and a fake batch (``critic_steps`` times, fresh noise each time, the same real batch), then update
    G on fresh noise.

    Args:
        image_shape: ``(height, width, channels)`` of the images.
        latent_dim: size of z (default 100).
        arch: ``"mlp"`` or ``"dcgan"``.
        width: layer-size multiplier; 32 gives the paper's sizes.
        seed: seed of the noise drawn in training (``None`` for a random one).
        loss: a key of :data:`kgen.losses.GAN_LOSSES`: ``"non-saturating"`` (``-log D(G(z))``, the
            default), ``"minimax"``, ``"least-squares"``, ``"hinge"`` or ``"wgan-gp"`` (Wasserstein
            critic with a gradient penalty at images interpolated between real and fake, the
            interpolation weight uniform in [0, 1] per image).
        critic_steps: discriminator updates per generator update (5 in the WGAN-GP paper).
        gp_weight: weight of the gradient penalty (losses that take one, i.e. ``"wgan-gp"``; 10 in the paper).
        num_classes: > 0 for a class-conditional GAN (Mirza & Osindero, 2014): the generator gets the
            label one-hot beside z, the discriminator is a projection discriminator (see
            :func:`kgen.models.networks.build_discriminator`), and fakes are made for the labels of
            the real batch, so they follow the data's class frequencies.

    Example:
        >>> gan = GAN(image_shape=(28, 28, 1), arch="dcgan")  # doctest: +SKIP
        >>> gan.compile()  # Adam(2e-4, beta_1=0.5) for both networks
        >>> gan.fit(images_dataset, epochs=5)
        >>> images = gan.sample(64, seed=0)
    """

    optimizer_roles = {"d_optimizer": ("discriminator",), "g_optimizer": ("generator",)}
    archs = ("dcgan", "mlp")
    output_range = (-1.0, 1.0)
    default_latent_dim = 100
    default_learning_rate = 2e-4
    default_beta_1 = 0.5

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch="dcgan", width=32, seed=None,
                 loss="non-saturating", critic_steps=1, gp_weight=10.0, num_classes=0, **kwargs):
        super().__init__(image_shape, latent_dim, arch, width, seed, num_classes, **kwargs)
        if loss not in losses.GAN_LOSSES:
            raise ValueError(f"Unknown GAN loss {loss!r}: expected one of {', '.join(losses.GAN_LOSSES)}.")
        if int(critic_steps) < 1:
            raise ValueError(f"critic_steps must be a positive integer; got {critic_steps!r}.")
        if float(gp_weight) < 0:
            raise ValueError(f"gp_weight must be non-negative; got {gp_weight!r}.")
        self.loss_name, self.critic_steps, self.gp_weight = loss, int(critic_steps), float(gp_weight)
        self._objective = losses.GAN_LOSSES[loss]
        with self.network_policy():
            self.generator = networks.build_generator(self.image_shape, arch, self.latent_dim, self.width, "tanh",
                                                      num_classes=self.num_classes)
            self.discriminator = networks.build_discriminator(self.image_shape, arch, self.width,
                                                              num_classes=self.num_classes)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # every sub-network is a functional model, built on creation

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configure training: one optimizer each for D and G (default Adam(2e-4, beta_1=0.5)).

        Args:
            d_optimizer: optimizer (instance or name) of the discriminator.
            g_optimizer: optimizer (instance or name) of the generator.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``, ``run_eagerly``).
        """
        self._compile_roles({"d_optimizer": d_optimizer, "g_optimizer": g_optimizer}, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(loss=self.loss_name, critic_steps=self.critic_steps, gp_weight=self.gp_weight)
        return config

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def call(self, inputs, training=False):
        """The discriminator's logits for a batch of images (or an ``(images, labels)`` pair; a
        conditional GAN needs the pair)."""
        return self.discriminator(self.conditioned(batch_images(inputs), self.batch_labels(inputs)), training=training)

    def generate(self, z, labels=None, training=False):
        return self.generator(self.conditioned(z, labels), training=training)

    def discriminate(self, images, labels=None, training=False):
        """The discriminator's logits ``[batch, 1]`` for images (of classes ``labels`` when conditional)."""
        return self.discriminator(self.conditioned(images, labels), training=training)

    def train_step(self, data):
        real, labels = batch_images(data), self.batch_labels(data)
        batch = tf.shape(real)[0]

        # Discriminator: the real batch against a fresh fake batch (of the same labels), critic_steps times.
        for _ in range(self.critic_steps):
            z = self.normal_noise(batch, self.latent_dim)
            with tf.GradientTape() as tape:
                fake = self.generate(z, labels, training=True)
                real_logits = self.discriminate(real, labels, training=True)
                fake_logits = self.discriminate(fake, labels, training=True)
                d_loss = self._objective.discriminator(real_logits, fake_logits)
                if self._objective.gradient_penalty:
                    d_loss = d_loss + self.gp_weight * self._gradient_penalty(real, fake, labels)
            self.apply_gradients("d_optimizer", tape, d_loss)

        # Generator: fresh noise.
        z = self.normal_noise(batch, self.latent_dim)
        with tf.GradientTape() as tape:
            g_logits = self.discriminate(self.generate(z, labels, training=True), labels, training=True)
            g_loss = self._objective.generator(g_logits)
        self.apply_gradients("g_optimizer", tape, g_loss)

        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _gradient_penalty(self, real, fake, labels=None):
        """WGAN-GP's penalty at images interpolated between ``real`` and ``fake`` (weights ~ U[0, 1])."""
        weights = self.uniform_noise(tf.shape(real)[0], 1, 1, 1)
        mixed = real + tf.cast(weights, real.dtype) * (tf.cast(fake, real.dtype) - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            outputs = tf.cast(self.discriminate(mixed, labels, training=True), "float32")
        return losses.gradient_penalty(tape.gradient(outputs, mixed))

    def test_step(self, data):
        real, labels = batch_images(data), self.batch_labels(data)
        z = self.normal_noise(tf.shape(real)[0], self.latent_dim)
        fake = self.generate(z, labels, training=False)
        real_logits = self.discriminate(real, labels, training=False)
        fake_logits = self.discriminate(fake, labels, training=False)
        # The losses without the gradient penalty, which needs gradients (validation has no tape).
        d_loss = self._objective.discriminator(real_logits, fake_logits)
        g_loss = self._objective.generator(fake_logits)
        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _update_trackers(self, d_loss, g_loss, real_logits, fake_logits):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        # Mean D(x) on real and fake images: the usual health signal of GAN training.
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {m.name: m.result() for m in self.metrics}
