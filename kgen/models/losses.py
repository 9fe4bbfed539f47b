"""Loss functions of kgen's models: pure functions of tensors, no model state.

Conventions: every function returns a scalar averaged over the batch (sum over the other axes where
the quantity is a per-example log-likelihood or divergence, e.g. the KL and the reconstruction
error), computed in float32 whatever the inputs' dtype.
"""

from __future__ import annotations

import typing

from keras import ops


def _f32(x):
    return ops.cast(x, "float32")


def bce_with_logits(labels, logits):
    """Mean binary cross-entropy of ``sigmoid(logits)`` against ``labels``, numerically stable.

    Uses ``max(l, 0) - l·y + log(1 + exp(-|l|))``, which never overflows.

    Args:
        labels: targets in [0, 1], broadcastable to ``logits``.
        logits: raw scores.

    Returns:
        Scalar mean over all elements.
    """
    logits = _f32(logits)
    labels = ops.broadcast_to(_f32(labels), ops.shape(logits))
    per_element = ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.mean(per_element)


def discriminator_loss(real_logits, *fake_logits):
    """Discriminator BCE: real logits labelled 1, each batch of fake logits labelled 0, summed.

    Args:
        real_logits: D's logits on real images.
        *fake_logits: D's logits on one or more batches of generated images (the GAN passes one;
            VAE-GAN passes reconstructions and prior samples, as in Larsen et al.).

    Returns:
        Scalar: ``BCE(real, 1) + Σ BCE(fake_i, 0)``.
    """
    loss = bce_with_logits(1.0, real_logits)
    for logits in fake_logits:
        loss = loss + bce_with_logits(0.0, logits)
    return loss


def generator_loss(*fake_logits):
    """Non-saturating generator loss: ``Σ BCE(fake_i, 1)`` = ``-Σ mean log D(G(z))``.

    Args:
        *fake_logits: D's logits on one or more batches of generated images.

    Returns:
        Scalar loss of the generator.
    """
    loss = 0.0
    for logits in fake_logits:
        loss = loss + bce_with_logits(1.0, logits)
    return loss


def minimax_generator_loss(*fake_logits):
    """The original (saturating) minimax generator loss: ``Σ mean log(1 - D(G(z)))``, minimised.

    Equal to ``-Σ BCE(fake_i, 0)``; its gradient vanishes where D confidently rejects the fakes, which
    is why the non-saturating loss is the default.
    """
    loss = 0.0
    for logits in fake_logits:
        loss = loss - bce_with_logits(0.0, logits)
    return loss


def least_squares_discriminator_loss(real_outputs, fake_outputs):
    """Least-squares GAN (Mao et al. 2017) discriminator loss: ``½ mean (D(x) - 1)² + ½ mean D(G(z))²``,
    on the discriminator's raw outputs."""
    return 0.5 * ops.mean(ops.square(_f32(real_outputs) - 1.0)) + 0.5 * ops.mean(ops.square(_f32(fake_outputs)))


def least_squares_generator_loss(fake_outputs):
    """Least-squares GAN generator loss: ``½ mean (D(G(z)) - 1)²``."""
    return 0.5 * ops.mean(ops.square(_f32(fake_outputs) - 1.0))


def hinge_discriminator_loss(real_outputs, fake_outputs):
    """Hinge discriminator loss: ``mean max(0, 1 - D(x)) + mean max(0, 1 + D(G(z)))``."""
    return ops.mean(ops.relu(1.0 - _f32(real_outputs))) + ops.mean(ops.relu(1.0 + _f32(fake_outputs)))


def critic_generator_loss(fake_outputs):
    """Generator loss of the hinge and Wasserstein GANs: ``-mean D(G(z))``."""
    return -ops.mean(_f32(fake_outputs))


def wasserstein_critic_loss(real_outputs, fake_outputs):
    """Wasserstein critic loss without its penalty: ``mean D(G(z)) - mean D(x)`` (an estimate of the
    negative Wasserstein-1 distance when D is 1-Lipschitz)."""
    return ops.mean(_f32(fake_outputs)) - ops.mean(_f32(real_outputs))


def gradient_penalty(gradients, eps=1e-12):
    """WGAN-GP's penalty (Gulrajani et al. 2017): ``mean_b (‖∇_x̂ D(x̂)‖₂ - 1)²``, in float32.

    The norm is ``sqrt(Σ g² + eps)``: the plain square root has an infinite derivative at a zero
    gradient (e.g. a critic that is flat around x̂), which would turn the update into NaN.

    Args:
        gradients: ``[batch, ...]`` gradients of the critic's output with respect to its inputs at
            the interpolated images.
        eps: added under the square root.

    Returns:
        Scalar penalty (without its weight, 10 in the paper).
    """
    squares = _sum_per_example(ops.square(_f32(gradients)))
    return ops.mean(ops.square(ops.sqrt(squares + eps) - 1.0))


def r1_penalty(gradients):
    """R1 penalty (Mescheder et al. 2018): ``½ mean_b ‖∇_x D(x)‖²`` at real images, in float32.

    Pushes the discriminator's gradient towards zero on the data, which keeps it from overshooting around the
    real images; its weight γ multiplies it (the paper's loss term is ``γ/2 · E‖∇D‖²``).

    Args:
        gradients: ``[batch, ...]`` gradients of the discriminator's output with respect to the real images.

    Returns:
        Scalar penalty (without its weight).
    """
    return 0.5 * ops.mean(_sum_per_example(ops.square(_f32(gradients))))


def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) ‖ N(0, I)), summed over latent dimensions, averaged over the batch.

    Args:
        z_mean: ``[batch, latent]`` means of q(z|x).
        z_log_var: ``[batch, latent]`` log-variances of q(z|x).

    Returns:
        Scalar ``mean_b  -½ Σ_j (1 + log σ² - μ² - σ²)``.
    """
    return ops.mean(ops.sum(kl_per_dimension(z_mean, z_log_var), axis=-1))


def kl_per_dimension(z_mean, z_log_var):
    """KL(q(z_j|x) ‖ N(0, 1)) of each latent dimension j for each example, in nats.

    Summed over j it is the per-example term of :func:`kl_divergence`. A dimension whose KL stays near
    0 over the data is inactive: the encoder ignores it and the decoder gets only prior noise there.

    Args:
        z_mean: ``[batch, latent]`` means of q(z|x).
        z_log_var: ``[batch, latent]`` log-variances of q(z|x).

    Returns:
        float32 ``[batch, latent]``: ``-½ (1 + log σ² - μ² - σ²)``.
    """
    z_mean, z_log_var = _f32(z_mean), _f32(z_log_var)
    return -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))


def _sum_per_example(x):
    return ops.sum(ops.reshape(x, (ops.shape(x)[0], -1)), axis=-1)


def bernoulli_nll_per_example(images, probabilities, eps=1e-7):
    """Bernoulli negative log-likelihood of each image in [0, 1] under pixel probabilities, in nats.

    Args:
        images: targets in [0, 1], ``[batch, ...]``.
        probabilities: decoder outputs in [0, 1], same shape; clipped to ``[eps, 1 - eps]``.
        eps: clipping bound that keeps the logarithms finite.

    Returns:
        ``[batch]`` float32: ``-Σ_pixels x·log p + (1 - x)·log(1 - p)``.
    """
    x, p = _f32(images), ops.clip(_f32(probabilities), eps, 1.0 - eps)
    return _sum_per_example(-(x * ops.log(p) + (1.0 - x) * ops.log(1.0 - p)))


def reconstruction_bce(images, reconstructions, eps=1e-7):
    """Bernoulli negative log-likelihood of ``images`` in [0, 1] under ``reconstructions`` in (0, 1).

    Summed over pixels, averaged over the batch (so it is on the scale of the KL term).

    Args:
        images: targets in [0, 1].
        reconstructions: decoder outputs (probabilities) in [0, 1]; clipped to ``[eps, 1 - eps]``.
        eps: clipping bound that keeps the logarithms finite.

    Returns:
        Scalar loss.
    """
    return ops.mean(bernoulli_nll_per_example(images, reconstructions, eps))


def reconstruction_mse(images, reconstructions):
    """Squared error summed over pixels (or features), averaged over the batch.

    Up to constants, the Gaussian negative log-likelihood with unit variance; VAE-GAN uses it on the
    discriminator's features (L_like of Larsen et al.).

    Args:
        images: targets, any shape ``[batch, ...]``.
        reconstructions: same shape as ``images``.

    Returns:
        Scalar loss.
    """
    return ops.mean(_sum_per_example(ops.square(_f32(images) - _f32(reconstructions))))


RECONSTRUCTION_LOSSES = {"bce": reconstruction_bce, "mse": reconstruction_mse}


class GanLoss(typing.NamedTuple):
    """One GAN objective and the recipe it was published with.

    Attributes:
        discriminator: the discriminator's loss of (real outputs, fake outputs).
        generator: the generator's loss of fake outputs.
        gradient_penalty: whether the discriminator's loss also takes :func:`gradient_penalty` (the
            model adds it: it needs the critic's gradients at interpolated images).
        critic_steps: discriminator updates per generator update in the published recipe.
        adam: ``(learning_rate, beta_1, beta_2)`` of the published recipe, or ``None`` for the model's
            defaults.
    """

    discriminator: typing.Callable
    generator: typing.Callable
    gradient_penalty: bool = False
    critic_steps: int = 1
    adam: tuple | None = None


GAN_LOSSES = {
    "non-saturating": GanLoss(discriminator_loss, generator_loss),
    "minimax": GanLoss(discriminator_loss, minimax_generator_loss),
    "least-squares": GanLoss(least_squares_discriminator_loss, least_squares_generator_loss),
    "hinge": GanLoss(hinge_discriminator_loss, critic_generator_loss),
    # Gulrajani et al. (2017), Algorithm 1: 5 critic steps, Adam(1e-4, β1 = 0, β2 = 0.9).
    "wgan-gp": GanLoss(wasserstein_critic_loss, critic_generator_loss, gradient_penalty=True, critic_steps=5,
                       adam=(1e-4, 0.0, 0.9)),
}
