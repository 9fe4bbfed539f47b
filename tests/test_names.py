"""kgen.names, the one home of the names users type, is in step with the registries that hold the objects."""

import importlib
import subprocess
import sys

from kgen import names
from kgen.evaluation import protocol
from kgen.models import augment, losses, networks, registry


def test_the_names_are_those_of_the_registries():
    assert names.MODELS == tuple(registry.MODELS)
    for name, cls in registry.MODELS.items():
        assert cls.archs == names.MODEL_ARCHS[name], name
    assert set(networks.ARCHS) == set(names.ARCHS) == set(networks._TRUNKS) == set(networks._GENERATORS)
    assert names.GAN_LOSSES == tuple(losses.GAN_LOSSES)
    assert names.RECONSTRUCTION_LOSSES == tuple(losses.RECONSTRUCTION_LOSSES)
    assert names.AUGMENTATIONS == tuple(augment.TRANSFORMS)
    assert names.OPTIMIZERS == tuple(registry.OPTIMIZERS)
    assert protocol.METRICS == names.METRICS


def test_the_cli_offers_exactly_these_names():
    fit = importlib.import_module("kgen.cli.fit_command").fit
    choices = {p.name: tuple(p.type.choices) for p in fit.params if hasattr(p.type, "choices")}
    assert choices["model"] == names.MODELS and choices["arch"] == names.ARCHS
    assert choices["gan_loss"] == names.GAN_LOSSES and choices["precision"] == names.PRECISIONS
    assert choices["strategy"] == names.STRATEGIES and choices["on_nan"] == names.ON_NAN


def test_the_kgen_command_reads_the_names_without_tensorflow():
    # In the `kgen` console script's process (sys.argv[0] == "kgen"), kgen imports TensorFlow only when a
    # command runs; a plain `import kgen` imports it (and registers the models with Keras).
    code = ("import sys; sys.argv = ['kgen']; import kgen.names, kgen.cli.fit_command; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
