"""kgen: train, sample, evaluate and compare deep generative image models with TensorFlow 2 / Keras 3.

The public API (TensorFlow is imported on first use of a name, so ``import kgen`` is instant)::

    import kgen
    model = kgen.GAN(image_shape=(28, 28, 1), arch="dcgan")
    dataset, info = kgen.load_dataset("fashion_mnist", batch_size=128, value_range=model.output_range)
    result = kgen.fit(kgen.RunConfig(model="gan", arch="dcgan", data="fashion_mnist", epochs=1))
    images = kgen.load_model(result.run_dir).sample(64, seed=0)
"""

import importlib

__version__ = "0.1.0"

# public name → module that defines it
_EXPORTS = {
    "GAN": "kgen.models",
    "VAE": "kgen.models",
    "VAEGAN": "kgen.models",
    "RunConfig": "kgen.config",
    "fit": "kgen.training",
    "load_dataset": "kgen.data",
    "load_epochs": "kgen.data",
    "train": "kgen.loop",
    "Checkpointer": "kgen.loop",
    "TrainingInterrupted": "kgen.loop",
    "DivergenceError": "kgen.loop",
    "DataError": "kgen.data",
    "load_model": "kgen.runs",
    "latest_run": "kgen.runs",
    "evaluate": "kgen.evaluation.evaluate",
    "format_report": "kgen.evaluation.evaluate",
    "train_evaluator": "kgen.evaluation.classifier",
    "find_evaluator": "kgen.evaluation.classifier",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kgen' has no attribute {name!r}")
