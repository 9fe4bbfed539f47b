"""Comparison studies: :mod:`.study` (plan, training and evaluating every model × seed, resumable) and
:mod:`.report` (tables and figures as Markdown and HTML)."""

# The five models of the reference comparisons (no imports here: the CLI reads it before TensorFlow loads).
DEFAULT_MODELS = "gan:mlp,gan:dcgan,vae:mlp,vae:conv,vaegan"

# Preset experiments of the reference papers: name → (description, --models list).
PRESETS = {
    "lr-sensitivity": ("VAE-GAN at learning rates 1.5e-4, 3e-4 and 6e-4 (Rana et al., Table 1)",
                       "vaegan@learning_rate=0.00015,vaegan@learning_rate=0.0003,vaegan@learning_rate=0.0006"),
    "optimizers": ("Adam vs RMSprop for the three families",
                   "gan:dcgan@optimizer=adam,gan:dcgan@optimizer=rmsprop,vae:conv@optimizer=adam,"
                   "vae:conv@optimizer=rmsprop,vaegan@optimizer=adam,vaegan@optimizer=rmsprop"),
    "translation": ("VAE vs VAE-GAN trained and tested on inputs shifted by up to 10 % (Rana et al., 4.4)",
                    "vae:conv,vae:conv@translate=0.1,vaegan,vaegan@translate=0.1"),
    "latent-size": ("Latent sizes 2, 10, 16 and 100 for GAN and VAE (Battineedi)",
                    ",".join(f"{m}@latent_dim={d}" for m in ("gan:dcgan", "vae:conv") for d in (2, 10, 16, 100))),
    "architecture": ("MLP vs convolutional networks for GAN and VAE (Banerjee)", "gan:mlp,gan:dcgan,vae:mlp,vae:conv"),
}
