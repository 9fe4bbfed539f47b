"""kgen's generative models: GAN, VAE and VAE-GAN, each a ``keras.Model`` with its own train step."""

from kgen.models.base import AutoencodingModel, GenerativeModel
from kgen.models.gan import GAN
from kgen.models.vae import VAE
from kgen.models.vae_gan import VAEGAN

__all__ = ["AutoencodingModel", "GenerativeModel", "GAN", "VAE", "VAEGAN"]
