"""The variational autoencoder of Kingma & Welling (2014), MLP and convolutional."""

from __future__ import annotations

import keras
import tensorflow as tf

from kgen import names
from kgen.models import losses, networks
from kgen.models.base import AutoencodingModel, batch_images


@keras.saving.register_keras_serializable(package="kgen")
class VAE(AutoencodingModel):
    """Variational autoencoder: encoder q(z|x) = N(mean, diag σ²), decoder p(x|z), prior N(0, I).

    The loss is ``reconstruction + beta · KL`` (the negative ELBO for ``beta=1``); both terms are
    tracked separately. Images are in [0, 1] and the decoder ends in a sigmoid.

    Args:
        image_shape: ``(height, width, channels)``.
        latent_dim: size of z (default 16).
        arch: ``"dcgan"`` (default: the DCGAN discriminator's trunk as encoder, its generator as
            decoder), ``"mlp"``, or the reference comparison's literal ``"paper-mlp"``
            (784→512→128→2·latent, decoder latent→128→512→784) and ``"paper-dcgan"`` (see
            :mod:`kgen.models.networks`).
        width: layer-size multiplier; 32 gives the paper's sizes.
        reconstruction_loss: ``"bce"`` (Bernoulli) or ``"mse"`` (Gaussian, unit variance).
        beta: weight of the KL term (β-VAE; 1 is the plain VAE).
        seed: seed of the reparameterisation noise.
        kl_warmup_steps: grow the KL weight linearly from ``beta / kl_warmup_steps`` at the first
            training step to ``beta`` at step ``kl_warmup_steps`` (0: ``beta`` from the start). Lets
            the decoder learn to use z before the KL term pulls the posteriors to the prior, which
            leaves fewer latent dimensions inactive. Validation losses always use ``beta``.
        num_classes: > 0 for a conditional VAE (Sohn et al., 2015): encoder q(z|x, y) and decoder
            p(x|z, y) both get the label one-hot; the prior stays N(0, I).
        ema_decay: decay of a moving average of the decoder's weights used outside training (0: none,
            the default).
        prior_components: K > 0: sample from a mixture of K Gaussians once :meth:`fit_prior` has fitted it
            to the encoder's codes (unconditional models); 0 (default): from N(0, I).
        prior_temperature: T: the fitted mixture's covariances scaled by T² (default 1).
        encoder, decoder: your own networks instead of ``arch``'s (``keras.Model``: images → ``[z_mean,
            z_log_var]``; z → images in [0, 1]; with ``num_classes``, each also takes the labels). They are
            saved with the model.

    Example:
        >>> vae = VAE(arch="dcgan")  # doctest: +SKIP
        >>> vae.compile()  # Adam(1e-4)
        >>> vae.fit(images_dataset, validation_data=test_images, epochs=10)
    """

    optimizer_roles = {"optimizer": ("encoder", "decoder")}
    archs = names.MODEL_ARCHS["vae"]
    generator_role = "optimizer"
    output_range = (0.0, 1.0)
    default_latent_dim = 16
    default_learning_rate = 1e-4
    default_beta_1 = 0.9

    def __init__(self, image_shape=(28, 28, 1), latent_dim=None, arch="dcgan", width=names.REFERENCE_WIDTH,
                 reconstruction_loss="bce", beta=1.0, seed=None, kl_warmup_steps=0, num_classes=0, ema_decay=None,
                 encoder=None, decoder=None, prior_components=0, prior_temperature=1.0, **kwargs):
        super().__init__(image_shape, latent_dim, arch, width, seed, num_classes, ema_decay,
                         prior_components=prior_components, prior_temperature=prior_temperature, **kwargs)
        if reconstruction_loss not in losses.RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"Unknown reconstruction_loss {reconstruction_loss!r}: expected one of "
                f"{', '.join(losses.RECONSTRUCTION_LOSSES)}."
            )
        if float(beta) < 0:
            raise ValueError(f"beta must be ≥ 0; got {beta}.")
        if int(kl_warmup_steps) < 0:
            raise ValueError(f"kl_warmup_steps must be ≥ 0; got {kl_warmup_steps}.")
        self.reconstruction_loss = reconstruction_loss
        self.beta = float(beta)
        self.kl_warmup_steps = int(kl_warmup_steps)
        with self.network_policy():
            self.encoder = self.own_or_built("encoder", encoder, lambda: networks.build_encoder(
                self.image_shape, self.arch, self.latent_dim, self.width, num_classes=self.num_classes))
            self.decoder = self.own_or_built("decoder", decoder, self._build_decoder)
            self.average_generator(self._build_decoder)
        self.check_network("encoder", self.encoder, (self.latent_dim,))
        self.check_network("decoder", self.decoder, self.image_shape)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # every sub-network is a functional model, built on creation

    def _build_decoder(self):
        return networks.build_generator(self.image_shape, self.arch, self.latent_dim, self.width, "sigmoid",
                                        num_classes=self.num_classes, paper_vae=True)

    def get_config(self):
        config = super().get_config()
        config.update(reconstruction_loss=self.reconstruction_loss, beta=self.beta,
                      kl_warmup_steps=self.kl_warmup_steps)
        return config

    def compile(self, optimizer=None, **kwargs):
        """Configure training with one optimizer for encoder and decoder (default Adam(1e-4)).

        Args:
            optimizer: optimizer instance or name.
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``, ``run_eagerly``).
        """
        self._compile_roles({"optimizer": optimizer}, **kwargs)

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    def compute_losses(self, images, labels, training):
        """Reconstruction and KL terms of the negative ELBO on a batch (one posterior sample); ``labels``
        ``None`` unless the model is conditional."""
        z_mean, z_log_var = self.encode(images, labels, training=training)
        z = self.reparameterize(z_mean, z_log_var)
        reconstructions = self.decode(z, labels, training=training)
        reconstruction = losses.RECONSTRUCTION_LOSSES[self.reconstruction_loss](images, reconstructions)
        kl = losses.kl_divergence(z_mean, z_log_var)
        return reconstruction, kl

    def train_step(self, data):
        images = batch_images(data)
        with tf.GradientTape() as tape:
            reconstruction, kl = self.compute_losses(images, self.batch_labels(data), training=True)
            loss = reconstruction + self.kl_weight() * kl
        self.apply_gradients("optimizer", tape, loss)
        self.update_average()
        return self._update_trackers(loss, reconstruction, kl)

    def kl_weight(self):
        """The KL term's weight at the current training step (``beta`` after the warm-up)."""
        if not self.kl_warmup_steps:
            return self.beta
        # The optimizer's step count is part of the checkpointed state, so a resumed run continues the ramp.
        step = tf.cast(self.optimizer.iterations + 1, tf.float32)
        return self.beta * tf.minimum(1.0, step / self.kl_warmup_steps)

    def test_step(self, data):
        reconstruction, kl = self.compute_losses(batch_images(data), self.batch_labels(data), training=False)
        return self._update_trackers(reconstruction + self.beta * kl, reconstruction, kl)

    def _update_trackers(self, loss, reconstruction, kl):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}
