"""The GAN of Goodfellow et al. (2014): DCGAN (Radford et al.) and MLP networks, the reference
comparison's literal ones (Banerjee, "GAN vs VAE"), the non-saturating loss by default and the minimax,
least-squares, hinge and Wasserstein-with-gradient-penalty losses by name, and a moving average of
the generator's weights for sampling."""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from kgen import names
from kgen.models import losses, networks
from kgen.models.augment import augment as augment_images, draws_needed, parse_policy
from kgen.models.base import GenerativeModel, batch_images


@keras.saving.register_keras_serializable(package="kgen")
class GAN(GenerativeModel):
    """Generative adversarial network: a generator G(z) and a discriminator D(x) → logit.

    Each training step follows the paper's algorithm: for each of ``critic_steps`` discriminator
    updates, take a real batch and a fake batch from fresh noise and update D; then update G on fresh
    noise (with ``reuse_fakes``: on the last fake batch again, scored by the updated D); then update the
    generator's weight average. With ``critic_steps`` k > 1 every discriminator
    update gets its own real batch: the step's input holds k batches (``kgen fit`` multiplies the
    pipeline's batch size by k).

    Args:
        image_shape: ``(height, width, channels)`` of the images.
        latent_dim: size of z (default 100).
        arch: ``"dcgan"`` (default), ``"mlp"``, ``"paper-dcgan"`` or ``"paper-mlp"`` (see
            :mod:`kgen.models.networks`).
        width: layer-size multiplier; 32 gives the reference sizes.
        seed: seed of the noise drawn in training (``None`` for a random one).
        loss: a key of :data:`kgen.models.losses.GAN_LOSSES`: ``"non-saturating"`` (``-log D(G(z))``, the
            default), ``"minimax"``, ``"least-squares"``, ``"hinge"`` or ``"wgan-gp"`` (Wasserstein
            critic with a gradient penalty at images interpolated between real and fake, the
            interpolation weight uniform in [0, 1] per image). A loss with a gradient penalty gets a
            critic without dropout and, for ``dcgan``, with layer instead of batch normalisation (as
            Gulrajani et al. recommend: batch statistics would couple the images the penalty treats
            one by one), and its published optimiser (Adam(1e-4, β = (0, 0.9))) by default.
        critic_steps: discriminator updates per generator update (default: the loss's published
            recipe, 5 for ``"wgan-gp"``, else 1).
        gp_weight: weight of the gradient penalty (losses that take one, i.e. ``"wgan-gp"``; 10 in the paper).
        r1_weight: weight γ of the R1 penalty on the discriminator (Mescheder et al. 2018: ``γ/2 · E‖∇D(x)‖²`` at
            the real images, as the discriminator sees them: augmented when ``augment`` is set); 0 (default) for
            none. With ``dcgan``'s batch normalisation the gradient of one image's output also flows through the
            batch's statistics, as in training itself.
        r1_every: lazy regularisation (Karras et al. 2020): the R1 penalty on every ``r1_every``-th discriminator
            update only, with ``r1_every`` times its weight, so it costs a fraction of its time; 1 (default): on
            every update.
        num_classes: > 0 for a class-conditional GAN (Mirza & Osindero, 2014): the generator gets the
            label one-hot beside z, the discriminator is a projection discriminator (see
            :func:`kgen.models.networks.build_discriminator`), and fakes are made for the labels of
            the real batch, so they follow the data's class frequencies.
        ema_decay: decay of the generator's exponential moving average (Yazıcı et al., 2019), which
            sampling, evaluation, export and the sample grids use; 0 turns it off; default 0.999.
        augment: differentiable augmentation of every image the discriminator sees in training, real
            and generated (Zhao et al. 2020), comma-separated names of :data:`kgen.models.augment.TRANSFORMS`
            (e.g. ``"translation,cutout"``); ``""`` (default) for none.
        minibatch_std: ``dcgan``: the discriminator gets a minibatch standard deviation feature map over groups of
            this many images before its dense layer (Karras et al. 2018; :class:`kgen.models.networks.MinibatchStdDev`);
            0 (default): none.
        reuse_fakes: the generator's update scores the last fake batch of the discriminator's update again (with
            the updated discriminator, as PyTorch's DCGAN example does) instead of making a new one: one generator
            pass fewer per step. ``False`` (default): fresh noise for the generator's update.
        generator, discriminator: your own networks instead of ``arch``'s (``keras.Model``: z
            ``[batch, latent_dim]`` → images ``[batch, *image_shape]`` in [-1, 1]; images → logits
            ``[batch, 1]``; with ``num_classes``, each also takes the labels as a second input). They are
            saved with the model (functional or Sequential models, or registered serialisable classes).

    Example:
        >>> gan = GAN(image_shape=(28, 28, 1), arch="dcgan")  # doctest: +SKIP
        >>> gan.compile()  # Adam(8e-4, beta_1=0.5) for both networks (see measured_at_tuned_rate)
        >>> gan.fit(images_dataset, epochs=5)
        >>> images = gan.sample(64, seed=0)
    """

    optimizer_roles = {"d_optimizer": ("discriminator",), "g_optimizer": ("generator",)}
    archs = names.MODEL_ARCHS["gan"]
    output_range = (-1.0, 1.0)
    default_latent_dim = 100
    default_learning_rate = 2e-4  # the DCGAN paper's; see tuned_learning_rate for kgen's own network
    default_beta_1 = 0.5
    default_ema_decay = 0.999
    tuned_learning_rate = 8e-4  # the default where measured_at_tuned_rate() says so

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch="dcgan", width=names.REFERENCE_WIDTH, seed=None,
                 loss="non-saturating", critic_steps=None, gp_weight=10.0, r1_weight=0.0, r1_every=1, num_classes=0,
                 ema_decay=None, augment="", minibatch_std=0, reuse_fakes=False, generator=None, discriminator=None,
                 **kwargs):
        super().__init__(image_shape, latent_dim, arch, width, seed, num_classes, ema_decay, **kwargs)
        self.augment = ",".join(parse_policy(augment))
        if loss not in losses.GAN_LOSSES:
            raise ValueError(f"Unknown GAN loss {loss!r}: expected one of {', '.join(losses.GAN_LOSSES)}.")
        objective = losses.GAN_LOSSES[loss]
        if critic_steps is not None and int(critic_steps) < 1:
            raise ValueError(f"critic_steps must be a positive integer; got {critic_steps!r}.")
        for name, weight in (("gp_weight", gp_weight), ("r1_weight", r1_weight)):
            if float(weight) < 0:
                raise ValueError(f"{name} must be non-negative; got {weight!r}.")
        if int(r1_every) < 1:
            raise ValueError(f"r1_every must be a positive integer; got {r1_every!r}.")
        if int(minibatch_std) < 0 or int(minibatch_std) == 1:
            raise ValueError(f"minibatch_std must be 0 (off) or a group size ≥ 2; got {minibatch_std!r}.")
        self.minibatch_std, self.reuse_fakes = int(minibatch_std), bool(reuse_fakes)
        self.loss_name, self.critic_steps, self.gp_weight = loss, critic_steps, float(gp_weight)
        self.r1_weight, self.r1_every = float(r1_weight), int(r1_every)
        self._objective = objective
        if objective.adam is not None:  # the loss's published optimiser becomes this model's default
            self.default_learning_rate, self.default_beta_1, self.default_beta_2 = objective.adam
        elif self.measured_at_tuned_rate():
            self.default_learning_rate = self.tuned_learning_rate
        penalised = objective.gradient_penalty
        with self.network_policy():
            self.generator = self.own_or_built("generator", generator, self._build_generator)
            self.discriminator = self.own_or_built("discriminator", discriminator, lambda: networks.build_discriminator(
                self.image_shape, self.arch, self.width, num_classes=self.num_classes,
                dropout=0.0 if penalised else None, norm="layer" if penalised else "batch",
                minibatch_std=self.minibatch_std))
            self.average_generator(self._build_generator)
        self.check_network("generator", self.generator, self.image_shape)
        self.check_network("discriminator", self.discriminator, (1,))
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # every sub-network is a functional model, built on creation

    def measured_at_tuned_rate(self):
        """Whether this GAN is the setting in which ``tuned_learning_rate`` (8e-4) was measured against the DCGAN
        paper's 2e-4 (docs/quality.md, 3 seeds on MNIST and Fashion-MNIST): kgen's ``dcgan`` network at its default
        width, unconditional, with the non-saturating loss, on 28×28 images. There it learns in far fewer steps and
        ends no worse, so it is the default; elsewhere (unmeasured, and 1.6e-3 collapsed even here) 2e-4 stays."""
        return (self.arch == names.DCGAN and self.loss_name == "non-saturating" and not self.num_classes
                and self.width == names.REFERENCE_WIDTH and self.image_shape[:2] == (28, 28))

    def _build_generator(self):
        return networks.build_generator(self.image_shape, self.arch, self.latent_dim, self.width, "tanh",
                                        num_classes=self.num_classes)

    @property
    def batches_per_step(self):
        """Real batches one training step takes: one per discriminator update."""
        return self.real_batches_per_step(loss=self.loss_name, critic_steps=self.critic_steps)

    @classmethod
    def real_batches_per_step(cls, loss="non-saturating", critic_steps=None, **other_options):
        """Real batches one training step of a GAN made with these options takes (its critic steps)."""
        return int(critic_steps) if critic_steps else losses.GAN_LOSSES[loss].critic_steps

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Configure training: one optimizer each for D and G (default Adam(``default_learning_rate``,
        beta_1=0.5): 8e-4 where :meth:`measured_at_tuned_rate`, else the DCGAN paper's 2e-4; for ``"wgan-gp"``
        Adam(1e-4, β = (0, 0.9))).

        Args:
            d_optimizer: optimizer (instance or name) of the discriminator.
            g_optimizer: optimizer (instance or name) of the generator.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``, ``run_eagerly``).
        """
        self._compile_roles({"d_optimizer": d_optimizer, "g_optimizer": g_optimizer}, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(loss=self.loss_name, critic_steps=self.critic_steps, gp_weight=self.gp_weight,
                      r1_weight=self.r1_weight, r1_every=self.r1_every, augment=self.augment,
                      minibatch_std=self.minibatch_std, reuse_fakes=self.reuse_fakes)
        return config

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def call(self, inputs, training=False):
        """The discriminator's logits for a batch of images (or an ``(images, labels)`` pair; a
        conditional GAN needs the pair)."""
        return self.discriminator(self.conditioned(batch_images(inputs), self.batch_labels(inputs)), training=training)

    def generate(self, z, labels=None, training=False):
        return self.sampling_network(training)(self.conditioned(z, labels), training=training)

    def discriminate(self, images, labels=None, training=False):
        """The discriminator's logits ``[batch, 1]`` for images (of classes ``labels`` when conditional);
        in training, of the images augmented by the model's ``augment`` policy."""
        if training and self.augment:
            uniform = self.uniform_noise(tf.shape(images)[0], draws_needed(self.augment))
            images = augment_images(images, self.augment, uniform)
        return self.discriminator(self.conditioned(images, labels), training=training)

    def train_step(self, data):
        images, all_labels = batch_images(data), self.batch_labels(data)
        steps = self.batches_per_step
        batch = tf.shape(images)[0] // steps

        # Discriminator: critic_steps updates, each on its own real batch and a fresh fake batch (of its labels).
        # With reuse_fakes the generator's pass that made the last fake batch is recorded for its own update.
        g_tape = tf.GradientTape()
        for i in range(steps):
            real = images[i * batch:(i + 1) * batch]
            labels = None if all_labels is None else all_labels[i * batch:(i + 1) * batch]
            z = self.normal_noise(batch, self.latent_dim)
            with g_tape if self.reuse_fakes and i == steps - 1 else contextlib.nullcontext():
                fake = self.generate(z, labels, training=True)
            if self.r1_weight and self.r1_every > 1:  # lazy R1: one update in r1_every pays for the penalty
                due = tf.equal(self.d_optimizer.iterations % self.r1_every, 0)
                gradients, d_loss, real_logits, fake_logits = tf.cond(
                    due, lambda: self._discriminator_update(real, labels, fake, self.r1_every),
                    lambda: self._discriminator_update(real, labels, fake, 0))
            else:
                gradients, d_loss, real_logits, fake_logits = self._discriminator_update(
                    real, labels, fake, 1 if self.r1_weight else 0)
            self.apply_role_gradients("d_optimizer", gradients)

        # Generator: the last fake batch again, or fresh noise (with the labels of the last real batch), scored by
        # the updated discriminator; then its weight average.
        with g_tape:
            if not self.reuse_fakes:
                fake = self.generate(self.normal_noise(batch, self.latent_dim), labels, training=True)
            g_loss = self._objective.generator(self.discriminate(fake, labels, training=True))
        self.apply_gradients("g_optimizer", g_tape, g_loss)
        self.update_average()

        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _discriminator_update(self, real, labels, fake, r1_scale):
        """One discriminator update's gradients (for its optimizer), loss and logits on ``real`` and ``fake`` images;
        the loss holds ``r1_scale × r1_weight`` × the R1 penalty (none when 0).

        Under lazy R1 a ``tf.cond`` picks between two of these: its branches hold whole updates, so that nothing
        differentiates through the ``tf.cond`` (that would make TensorFlow keep the branch's intermediate tensors,
        which its graph optimiser then fails to fuse: an error line in every run).
        """
        with tf.GradientTape() as tape:
            if r1_scale:
                real_logits, real_gradients = self._logits_and_input_gradients(real, labels)
            else:
                real_logits = self.discriminate(real, labels, training=True)
            fake_logits = self.discriminate(fake, labels, training=True)
            d_loss = self._objective.discriminator(real_logits, fake_logits)
            if r1_scale:
                d_loss = d_loss + r1_scale * self.r1_weight * losses.r1_penalty(real_gradients)
            if self._objective.gradient_penalty:
                d_loss = d_loss + self.gp_weight * self._gradient_penalty(real, fake, labels)
        return self.role_gradients("d_optimizer", tape, d_loss), d_loss, real_logits, fake_logits

    def _gradient_penalty(self, real, fake, labels=None):
        """WGAN-GP's penalty at images interpolated between ``real`` and ``fake`` (weights ~ U[0, 1])."""
        weights = self.uniform_noise(tf.shape(real)[0], 1, 1, 1)
        mixed = real + tf.cast(weights, real.dtype) * (tf.cast(fake, real.dtype) - real)
        return losses.gradient_penalty(self._logits_and_input_gradients(mixed, labels)[1])

    def _logits_and_input_gradients(self, images, labels=None):
        """The discriminator's training-mode logits for ``images`` and their gradients with respect to the images
        (of the logits' sum: each image's own logit, plus what flows through batch statistics)."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = self.discriminate(images, labels, training=True)
            total = tf.reduce_sum(tf.cast(logits, "float32"))
        return logits, tape.gradient(total, images)

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
