"""The reference papers' experiments as presets of ``kgen compare``: each names the data, the model
entries, the epochs, the batch size and (where the paper gives none) a time budget, so that
``kgen compare --preset NAME --study-dir DIR`` runs that experiment. No TensorFlow here: the CLI reads
these before TensorFlow loads.

The papers are the five comparisons kgen was built to reproduce; docs/reproductions.md puts each claim
beside kgen's measurement of the preset that tests it. Presets that reproduce a paper's networks use
``paper-dcgan`` / ``paper-mlp`` (Banerjee's networks) and give each entry the paper's learning rate
explicitly, so a change of kgen's defaults does not change the experiment; presets about the families
rather than the networks (``*-kgen``) use kgen's default networks and settings.
"""

from __future__ import annotations

import dataclasses

from kgen.names import OPTIMIZERS

EL_KADDOURY = "El-Kaddoury, Mahmoudi and Himmi, Deep Generative Models: Practical Comparison Between VAEs and GANs"
BANERJEE = "Banerjee, GAN vs VAE: A Comparison of Deep Generative Models"
TOSUN = "Tosun, VAEs and GANs: Generative Deep Learning Algorithms in Comparison"
RANA = "Rana, Shah and Khajuria, VAE vs GAN vs VAE-GAN"
BATTINEEDI = "Battineedi, CAP6610 project report"
KGEN = "kgen"

# Rana et al. train every model for one epoch of MNIST at batch size 64 (938 iterations, their 3.1), all
# three with the same hyperparameters: the original VAE-GAN's learning rate 3e-4 (their 4.3).
_RANA = {"epochs": 1, "batch_size": 64}
_RANA_RATE = {"learning_rate": 0.0003}
# A paper's 100 epochs of MNIST cannot be trained 3 times per entry on a 2-core CPU in a session; the
# docs run those presets with --budget-minutes and say so. Presets without a paper budget use this one.
KGEN_BUDGET_MINUTES = 10
# Scored at these minutes only (no evaluation per epoch), as docs/quality.md measures time to quality.
_TIMED = {"metrics_at": [1, 2, 5, 10], "metrics_every": 0, "metrics_n": 5000}
_BUDGET = {"epochs": 200, "budget_minutes": KGEN_BUDGET_MINUTES, "settings": _TIMED}


@dataclasses.dataclass(frozen=True)
class Preset:
    """One experiment of a reference paper as a ``kgen compare`` study.

    Attributes:
        paper: the paper it reproduces (one of the constants of this module).
        description: what it compares, and where the paper reports it.
        models: the ``--models`` entries.
        data: the data spec.
        epochs: epochs of every run (with ``budget_minutes``: the most a run may take).
        batch_size: batch size of every run (an entry may set its own with ``@batch_size=``).
        budget_minutes: a wall-clock budget per run, or ``None`` to train ``epochs`` epochs.
        settings: other run settings shared by every run (e.g. ``{"metrics_at": [1, 2, 5, 10]}``).
    """

    paper: str
    description: str
    models: str
    data: str = "mnist"
    epochs: int = 5
    batch_size: int = 128
    budget_minutes: float | None = None
    settings: dict = dataclasses.field(default_factory=dict)

    @property
    def author(self):
        """The paper's first author (``"kgen"`` for kgen's own experiments)."""
        return self.paper.split(",")[0]

    def summary(self):
        """One line: data, length of training, batch size (for ``--help`` and the CLI's note)."""
        length = (f"{self.budget_minutes:g} min per run" if self.budget_minutes
                  else f"{self.epochs} epoch{'s' * (self.epochs != 1)}")
        return f"{self.data}, {length}, batch {self.batch_size}"


def _entries(*entries):
    return ",".join(entries)


_RATES = ("0.00015", "0.0003", "0.0006")  # Rana et al., Table 1: the original 3e-4, halved and doubled

PRESETS = {
    "gan-vs-vae": Preset(
        EL_KADDOURY, "GAN against VAE on MNIST at equal time: Inception-style score and sharpness (Table 1, "
        "Fig. 3; the paper names no networks, so kgen's defaults)",
        _entries("gan:dcgan", "vae:dcgan"), **_BUDGET),
    "gan-vs-vae-cifar10": Preset(
        EL_KADDOURY, "GAN against VAE on CIFAR-10 (Table 1, Fig. 4; needs tensorflow-datasets' cifar10)",
        _entries("gan:dcgan", "vae:dcgan"), data="cifar10", **_BUDGET),
    "gan-vs-vae-celeba": Preset(
        EL_KADDOURY, "GAN against VAE on CelebA at 64x64 (Table 1, Fig. 5; needs tensorflow-datasets' celeb_a)",
        _entries("gan:dcgan", "vae:dcgan"), data="celeb_a", epochs=200, budget_minutes=KGEN_BUDGET_MINUTES,
        settings={**_TIMED, "image_size": 64}),
    "architecture": Preset(
        BANERJEE, "linear against convolutional networks for GAN and VAE, the paper's networks and "
        "hyperparameters (2.1-2.4, 3.1-3.2, Figs. 1-8)",
        _entries("gan:paper-mlp@learning_rate=0.0002", "gan:paper-dcgan@learning_rate=0.0002",
                 "vae:paper-mlp@batch_size=64;learning_rate=0.0001", "vae:paper-dcgan@learning_rate=0.0001"),
        epochs=100),
    "architecture-kgen": Preset(
        KGEN, "linear against convolutional networks for GAN and VAE with kgen's default networks (Banerjee's "
        "claim about the families)", _entries("gan:mlp", "gan:dcgan", "vae:mlp", "vae:dcgan"), **_BUDGET),
    "lr-sensitivity": Preset(
        RANA, "VAE-GAN at learning rates 1.5e-4, 3e-4 and 6e-4: GAN, prior and discriminator losses (Table 1)",
        _entries(*(f"vaegan:paper-dcgan@learning_rate={lr}" for lr in _RATES)), **_RANA),
    "optimizers": Preset(
        RANA, "Adam against RMSprop for GAN, VAE and VAE-GAN at the same hyperparameters (4.2)",
        _entries(*(f"{m}@optimizer={o}" for m in ("gan:paper-dcgan", "vae:paper-dcgan", "vaegan:paper-dcgan")
                   for o in OPTIMIZERS)), settings=_RANA_RATE, **_RANA),
    "translation": Preset(
        RANA, "VAE against VAE-GAN trained and tested on inputs shifted by up to 10 % (4.4)",
        _entries("vae:paper-dcgan", "vae:paper-dcgan@translate=0.1", "vaegan:paper-dcgan",
                 "vaegan:paper-dcgan@translate=0.1"), settings=_RANA_RATE, **_RANA),
    "stability": Preset(
        RANA, "GAN against VAE-GAN at learning rates 1.5e-4, 3e-4 and 6e-4: which is easier to train (5)",
        _entries(*(f"{m}:paper-dcgan@learning_rate={lr}" for m in ("gan", "vaegan") for lr in _RATES)), **_RANA),
    "fid-gan-vs-vae": Preset(
        BATTINEEDI, "GAN (latent 100) against VAE (latent 10), Adam 2e-4, FID (3.4, 3.8; the paper's networks "
        "are approximated by Banerjee's)",
        _entries("gan:paper-dcgan@latent_dim=100", "vae:paper-dcgan@latent_dim=10"), epochs=100,
        settings={"learning_rate": 0.0002}),
    "latent-size": Preset(
        BATTINEEDI, "latent sizes 2, 10, 16 and 100 for GAN and VAE (3.6)",
        _entries(*(f"{m}@latent_dim={d}" for m in ("gan:paper-dcgan", "vae:paper-dcgan") for d in (2, 10, 16, 100))),
        epochs=100, settings={"learning_rate": 0.0002}),
    "survey": Preset(
        TOSUN, "the survey's measurable statements: VAE blur, GAN mode dropping, VAE-GAN sharper than the VAE and "
        "more diverse than the GAN (2.2, 3.1, 4)", _entries("gan:dcgan", "vae:dcgan", "vaegan:dcgan"), **_BUDGET),
    "networks": Preset(
        KGEN, "kgen's default networks against the reference comparison's literal ones (kgen 0.1's defaults), at "
        "equal training time", _entries("gan:dcgan", "gan:paper-dcgan", "gan:mlp", "gan:paper-mlp", "vae:dcgan",
                                        "vae:paper-mlp", "vaegan:dcgan", "vaegan:paper-dcgan"), **_BUDGET),
}
