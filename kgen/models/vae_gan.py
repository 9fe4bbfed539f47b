"""VAE-GAN of Larsen et al. (2016), "Autoencoding beyond pixels using a learned similarity metric"."""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen import names
from kgen.models import losses, networks
from kgen.models.base import AutoencodingModel, batch_images


@keras.saving.register_keras_serializable(package="kgen")
class VAEGAN(AutoencodingModel):
    """A VAE whose decoder is also a GAN generator, with reconstruction measured in the features of
    the discriminator's ``feature_layer``-th layer instead of in pixels.

    Networks: the encoder, the generator as decoder (tanh, images in [-1, 1]) and the discriminator of
    the architecture ``arch``, from the same builders as GAN and VAE. Per training step
    (Algorithm 1 of the paper, signs made explicit):

    * ``L_prior = KL(q(z|x) ‖ N(0, I))``;
    * ``L_like`` (logged as ``feature_loss``: the reconstruction error in the discriminator's features)
      = squared error between ``Dis_l(x)`` and ``Dis_l(x̃)`` for reconstructions ``x̃ = Dec(z)``;
    * the discriminator sees real images, reconstructions and samples ``Dec(z_p)``, ``z_p ~ N(0, I)``,
      each kind in a pass of its own (its batch normalisation never mixes them); ``Dis_l`` comes from
      the same passes (better at equal time than one mixed pass: docs/quality.md).

    Updates, all from the same forward pass: encoder ← ∇(β·L_prior + L_like); decoder ←
    ∇(γ·L_like + non-saturating loss of fooling D on reconstructions and samples); discriminator ←
    ∇(BCE of real vs both fakes). L_like does not update the discriminator.

    Args:
        image_shape: ``(height, width, channels)``.
        latent_dim: size of z (default 100, as the GAN's).
        arch: ``"dcgan"`` (default) or the reference comparison's ``"paper-dcgan"``.
        width: layer-size multiplier; 32 gives the reference sizes.
        gamma: weight of L_like in the decoder's loss.
        beta: weight of L_prior in the encoder's loss (default 1, the paper's; larger keeps the codes nearer
            the prior that samples are drawn from).
        feature_layer: 1-based index of the discriminator layer whose features define L_like (default:
            the last convolution for ``dcgan``, the third of four for ``paper-dcgan``, as Larsen et al.).
        seed: seed of the noise drawn in training.
        num_classes: > 0 for a class-conditional VAE-GAN: encoder and decoder get the label one-hot
            (as the conditional VAE's), the discriminator is a projection discriminator (as the
            conditional GAN's), and prior samples are decoded with the labels of the real batch.
        ema_decay: decay of the decoder's exponential moving average, used outside training
            (sampling, reconstructions, evaluation, export); 0 turns it off; default 0.999.
        encoder, decoder, discriminator: your own networks instead of ``arch``'s, as the VAE's and the
            GAN's, except that the discriminator returns ``[logits, features]`` (the features of L_like).
        prior_components: K > 0: sample from a mixture of K Gaussians once :meth:`fit_prior` has fitted it
            to the encoder's codes (unconditional models; docs/models.md); 0 (default): from N(0, I), as the paper.
        prior_temperature: T: the fitted mixture's covariances scaled by T² (default 1).
    """

    optimizer_roles = {"e_optimizer": ("encoder",), "g_optimizer": ("decoder",), "d_optimizer": ("discriminator",)}
    archs = names.MODEL_ARCHS["vaegan"]
    default_ema_decay = 0.999
    output_range = (-1.0, 1.0)
    default_latent_dim = 100
    default_learning_rate = 3e-4
    default_beta_1 = 0.5

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch="dcgan", width=names.REFERENCE_WIDTH, gamma=1e-2,
                 beta=1.0, feature_layer=None, seed=None, num_classes=0, ema_decay=None, encoder=None, decoder=None,
                 discriminator=None, prior_components=0, prior_temperature=1.0, **kwargs):
        super().__init__(image_shape, latent_dim, arch, width, seed, num_classes, ema_decay,
                         prior_components=prior_components, prior_temperature=prior_temperature, **kwargs)
        if float(gamma) < 0:
            raise ValueError(f"gamma must be ≥ 0; got {gamma}.")
        if float(beta) < 0:
            raise ValueError(f"beta must be ≥ 0; got {beta}.")
        self.gamma, self.beta = float(gamma), float(beta)
        self.feature_layer = None if feature_layer is None else int(feature_layer)
        with self.network_policy():
            self.encoder = self.own_or_built("encoder", encoder, lambda: networks.build_encoder(
                self.image_shape, self.arch, self.latent_dim, self.width, num_classes=self.num_classes))
            self.decoder = self.own_or_built("decoder", decoder, self._build_decoder)
            self.discriminator = self.own_or_built("discriminator", discriminator, lambda: networks.build_discriminator(
                self.image_shape, self.arch, self.width, feature_layer=self.feature_layer_used,
                num_classes=self.num_classes))
            self.average_generator(self._build_decoder)
        self.check_network("encoder", self.encoder, (self.latent_dim,))
        self.check_network("decoder", self.decoder, self.image_shape)
        self.check_network("discriminator", self.discriminator, (1,))
        self.prior_tracker = keras.metrics.Mean(name="prior_loss")
        self.feature_tracker = keras.metrics.Mean(name="feature_loss")
        self.gan_tracker = keras.metrics.Mean(name="gan_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.built = True  # every sub-network is a functional model, built on creation

    @property
    def feature_layer_used(self):
        """The discriminator layer (1-based) whose features measure L_like."""
        if self.feature_layer is not None:
            return self.feature_layer
        if self.arch == "paper-dcgan":
            return 3
        return networks.upsampling_stages(self.image_shape)[0]  # dcgan: the last convolution's features

    def _build_decoder(self):
        return networks.build_generator(self.image_shape, self.arch, self.latent_dim, self.width, "tanh",
                                        num_classes=self.num_classes)

    def get_config(self):
        config = super().get_config()
        config.update(gamma=self.gamma, beta=self.beta, feature_layer=self.feature_layer)
        return config

    def compile(self, e_optimizer=None, g_optimizer=None, d_optimizer=None, **kwargs):
        """Configure training with one optimizer per network (default Adam(3e-4, beta_1=0.5); the
        paper used RMSprop(3e-4), which ``kgen fit --optimizer rmsprop`` selects).

        Args:
            e_optimizer: optimizer of the encoder.
            g_optimizer: optimizer of the decoder (generator).
            d_optimizer: optimizer of the discriminator.
            **kwargs: passed to ``keras.Model.compile``.
        """
        self._compile_roles(
            {"e_optimizer": e_optimizer, "g_optimizer": g_optimizer, "d_optimizer": d_optimizer}, **kwargs
        )

    @property
    def metrics(self):
        return [self.prior_tracker, self.feature_tracker, self.gan_tracker, self.d_loss_tracker]

    def compute_losses(self, images, labels, training):
        """All four losses of one step: ``(prior, like, gan, d)`` — see the class docstring; ``labels``
        ``None`` unless the model is conditional."""
        batch = tf.shape(images)[0]
        z_mean, z_log_var = self.encode(images, labels, training=training)
        z = self.reparameterize(z_mean, z_log_var)
        reconstructions = self.decode(z, labels, training=training)
        z_prior = self.normal_noise(batch, self.latent_dim)
        prior_samples = self.decode(z_prior, labels, training=training)

        # Real images, reconstructions and prior samples each pass through D on their own, so that batch
        # normalisation sees one kind of image at a time (as Radford et al.'s discriminator sees real and
        # fake batches apart); L_like's features come from the same passes.
        (real_logits, real_features), (rec_logits, rec_features), (prior_logits, _) = (
            self.discriminator(self.conditioned(tf.cast(x, images.dtype), labels), training=training)
            for x in (images, reconstructions, prior_samples))

        prior_loss = losses.kl_divergence(z_mean, z_log_var)
        feature_loss = losses.reconstruction_mse(tf.stop_gradient(real_features), rec_features)
        gan_loss = losses.generator_loss(rec_logits, prior_logits)
        d_loss = losses.discriminator_loss(real_logits, rec_logits, prior_logits)
        return prior_loss, feature_loss, gan_loss, d_loss

    def train_step(self, data):
        images = batch_images(data)
        with tf.GradientTape(persistent=True) as tape:
            prior_loss, feature_loss, gan_loss, d_loss = self.compute_losses(images, self.batch_labels(data),
                                                                             training=True)
            encoder_loss = self.beta * prior_loss + feature_loss
            decoder_loss = self.gamma * feature_loss + gan_loss
        # Every gradient comes from the same forward pass, before any network is updated.
        grads = {
            role: self.role_gradients(role, tape, loss)
            for role, loss in (("e_optimizer", encoder_loss), ("g_optimizer", decoder_loss), ("d_optimizer", d_loss))
        }
        del tape
        for role, role_grads in grads.items():
            getattr(self, role).apply_gradients(zip(role_grads, self.role_variables(role)))
        self.update_average()
        return self._update_trackers(prior_loss, feature_loss, gan_loss, d_loss)

    def test_step(self, data):
        return self._update_trackers(*self.compute_losses(batch_images(data), self.batch_labels(data), training=False))

    def _update_trackers(self, prior_loss, feature_loss, gan_loss, d_loss):
        for tracker, value in zip(self.metrics, (prior_loss, feature_loss, gan_loss, d_loss)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}
