"""kgen: train, sample, evaluate and compare deep generative image models with TensorFlow 2 / Keras 3.

The public API::

    import kgen, keras
    model = kgen.GAN(image_shape=(28, 28, 1))             # a keras.Model: compile, fit, save as usual
    result = kgen.fit_run(kgen.RunConfig(model="gan", data="fashion_mnist", epochs=1))   # what `kgen fit` does
    images = kgen.load_model(result.run_dir).sample(64, seed=0)                      # NumPy, float32
    model = keras.saving.load_model(f"{result.run_dir}/model.keras")                 # kgen's classes are registered

``import kgen`` imports TensorFlow and registers kgen's model classes with Keras. Only the ``kgen``
command line imports them on first use, so that ``kgen --help`` answers at once.
"""

import importlib as _importlib
import os as _os
import sys as _sys

__version__ = "0.4.0"

# public name → module that defines it
_EXPORTS = {
    "GAN": "kgen.models",
    "VAE": "kgen.models",
    "VAEGAN": "kgen.models",
    "FusedAdam": "kgen.models.fused_adam",
    "RunConfig": "kgen.run.config",
    "fit_run": "kgen.training.fit",
    "load_dataset": "kgen.data",
    "load_epochs": "kgen.data",
    "Trainer": "kgen.training.loop",
    "Checkpointer": "kgen.training.checkpoint",
    "TrainingInterrupted": "kgen.training.loop",
    "DivergenceError": "kgen.training.loop",
    "RunRecord": "kgen.run.record",
    "DataError": "kgen.data",
    "load_model": "kgen.run.layout",
    "latest_run": "kgen.run.layout",
    "evaluate": "kgen.evaluation.protocol",
    "format_report": "kgen.evaluation.report",
    "train_evaluator": "kgen.evaluation.classifier",
    "find_evaluator": "kgen.evaluation.classifier",
    "export_model": "kgen.export",
    "ExportedModel": "kgen.export",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(_importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kgen' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _is_the_kgen_command():
    """Whether this process is the ``kgen`` console script, which imports TensorFlow after parsing."""
    return bool(_sys.argv) and _os.path.basename(_sys.argv[0]) in ("kgen", "kgen.exe")


if not _is_the_kgen_command():
    for _name in _EXPORTS:  # imports TensorFlow; registers GAN, VAE and VAEGAN with Keras
        __getattr__(_name)
    del _name
