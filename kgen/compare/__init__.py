"""Comparison studies: :mod:`.study` (plan, training and evaluating every model × seed, resumable) and
:mod:`.report` (tables and figures as Markdown and HTML)."""

from kgen.names import OPTIMIZERS

# The five models of the reference comparisons, with kgen's default networks (no imports here: the CLI reads
# it before TensorFlow loads).
DEFAULT_MODELS = "gan:mlp,gan:dcgan,vae:mlp,vae:dcgan,vaegan:dcgan"

# Preset experiments of the reference papers: name → (description, --models list). They reproduce those
# papers, so they use the papers' literal networks (paper-dcgan, paper-mlp).
PRESETS = {
    "lr-sensitivity": ("VAE-GAN at learning rates 1.5e-4, 3e-4 and 6e-4 (Rana et al., Table 1)",
                       ",".join(f"vaegan:paper-dcgan@learning_rate={lr}" for lr in ("0.00015", "0.0003", "0.0006"))),
    "optimizers": ("Adam vs RMSprop for the three families",
                   ",".join(f"{m}@optimizer={o}" for m in ("gan:paper-dcgan", "vae:paper-dcgan", "vaegan:paper-dcgan")
                            for o in OPTIMIZERS)),
    "translation": ("VAE vs VAE-GAN trained and tested on inputs shifted by up to 10 % (Rana et al., 4.4)",
                    "vae:paper-dcgan,vae:paper-dcgan@translate=0.1,vaegan:paper-dcgan,"
                    "vaegan:paper-dcgan@translate=0.1"),
    "latent-size": ("Latent sizes 2, 10, 16 and 100 for GAN and VAE (Battineedi)",
                    ",".join(f"{m}@latent_dim={d}" for m in ("gan:paper-dcgan", "vae:paper-dcgan")
                             for d in (2, 10, 16, 100))),
    "architecture": ("MLP vs convolutional networks for GAN and VAE (Banerjee)",
                     "gan:paper-mlp,gan:paper-dcgan,vae:paper-mlp,vae:paper-dcgan"),
    "networks": ("kgen's default networks against the reference comparison's literal ones (kgen 0.1's defaults), at "
                 "equal training time",
                 "gan:dcgan,gan:paper-dcgan,gan:mlp,gan:paper-mlp,vae:dcgan,vae:paper-mlp,vaegan:dcgan,"
                 "vaegan:paper-dcgan"),
}
