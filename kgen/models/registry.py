"""Names → classes and factories: the one place where strings typed by users are resolved."""

from __future__ import annotations

import keras

from kgen.models import GAN, VAE, VAEGAN
from kgen.models.fused_adam import FusedAdam

MODELS = {"gan": GAN, "vae": VAE, "vaegan": VAEGAN}

OPTIMIZERS = {
    "adam": lambda learning_rate, beta_1, beta_2: FusedAdam(learning_rate, beta_1=beta_1, beta_2=beta_2),
    "rmsprop": lambda learning_rate, beta_1, beta_2: keras.optimizers.RMSprop(learning_rate),
}


def _lookup(table, kind, name):
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"Unknown {kind} {name!r}: expected one of {', '.join(table)}.") from None


def model_class(name):
    """The model class registered under ``name`` (``gan``, ``vae`` or ``vaegan``).

    Raises:
        ValueError: the name is unknown; the message lists the known ones.
    """
    return _lookup(MODELS, "model", name)


def make_optimizer(name, learning_rate, beta_1=0.9, beta_2=0.999):
    """A new optimizer by name (``adam`` or ``rmsprop``); ``beta_1`` and ``beta_2`` are used by Adam only."""
    return _lookup(OPTIMIZERS, "optimizer", name)(learning_rate, beta_1, beta_2)
