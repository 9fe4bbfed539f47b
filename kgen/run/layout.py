"""Run directories: their layout, finding the latest one, and loading a trained model safely."""

from __future__ import annotations

import contextlib
import os
import re
import zipfile

import keras

from kgen.run.record import CONFIG_FILE, RunRecord  # noqa: F401  (CONFIG_FILE belongs to the run dir layout here)

DEFAULT_ROOT = "saved_models"
MODEL_FILE = "model.keras"
HISTORY_FILE = "history.json"
LOSSES_FILE = "losses.png"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
RECONSTRUCTIONS_DIR = "reconstructions"
METRICS_FILE = "metrics.json"
EVAL_DIR = "eval"
CHECKPOINT_DIR = "checkpoint"
# The files in CHECKPOINT_DIR: a generation per checkpoint, newest by name; kgen 0.2 and before wrote one file.
GENERATION = re.compile(r"^state-e(\d+)-s(\d+)\.npz$")
LEGACY_FILE = "state.npz"  # the single checkpoint of kgen 0.2 and before


class RunError(ValueError):
    """A run directory or model file that cannot be used; the message says why."""


def latest_run(root=DEFAULT_ROOT):
    """The most recently modified run directory under ``root`` that holds a ``model.keras``.

    Raises:
        RunError: there is none.
    """
    found = []
    if os.path.isdir(root):
        for dirpath, _, files in os.walk(root):
            if MODEL_FILE in files:
                found.append((os.path.getmtime(os.path.join(dirpath, MODEL_FILE)), dirpath))
    if not found:
        raise RunError(f"No trained run under {root}/: expected a run dir holding {MODEL_FILE}; train one with "
                       "`kgen fit`.")
    return max(found)[1]


def run_directory(path):
    """The run dir of ``path``: itself for a directory, the containing directory for a ``.keras`` file."""
    return path if os.path.isdir(path) else os.path.dirname(path)


def checkpoint_dir(run_dir):
    """The directory of a run's training-state checkpoints (it may not exist)."""
    return os.path.join(run_dir, CHECKPOINT_DIR)


def generation_name(position):
    """The file name of the checkpoint at ``position``: ``state-e00003-s0000120.npz``."""
    return f"state-e{position.epoch:05d}-s{position.step:07d}.npz"


def checkpoint_files(directory):
    """The checkpoints in ``directory``, newest first (a kgen 0.2 ``state.npz`` last)."""
    if not os.path.isdir(directory):
        return []
    names = sorted((n for n in os.listdir(directory) if GENERATION.match(n)), reverse=True)
    if os.path.isfile(os.path.join(directory, LEGACY_FILE)):
        names.append(LEGACY_FILE)
    return [os.path.join(directory, n) for n in names]


def has_checkpoint(run_dir):
    """Whether a run dir holds a training-state checkpoint to resume from."""
    return bool(checkpoint_files(checkpoint_dir(run_dir)))


def directory_size(path):
    """Bytes of every file under ``path``."""
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def run_data(path):
    """The data spec recorded in the ``config.json`` of a run dir (or of a ``.keras`` file's directory);
    ``None`` if there is no record."""
    record = RunRecord.read(path)
    return record.kgen_run.get("data") if record is not None else None


def training_data(source, model):
    """The data spec ``model`` (loaded from ``source``) was trained on: from an export's ``kgen.json``
    or the run's ``config.json``; ``None`` if neither records it."""
    info = getattr(model, "info", None)  # exports carry their record
    if info is not None:
        from kgen.export import recorded_data

        return recorded_data(source, info)
    return run_data(source)


def sample_report_name(extractor, n, seed=0):
    """File name of an evaluation report (`kgen eval`, `kgen compare`): ``<extractor>-n<N>-seed<S>.json``."""
    return f"{extractor}-n{n}-seed{seed}.json"


def anomaly_report_name(normal_classes):
    """File name of an anomaly-detection report: ``anomaly-normal0_1_2.json``."""
    return "anomaly-normal" + "_".join(str(c) for c in sorted(normal_classes)) + ".json"


def report_path(source, model, name):
    """Where a report about the model at ``source`` goes: ``<run dir>/eval/<name>``, or for an
    export, which is never written into, ``eval_<export name>_v<version>_<name>`` here."""
    if getattr(model, "info", None) is not None:
        version_dir = os.path.abspath(source)
        return f"eval_{os.path.basename(os.path.dirname(version_dir))}_v{os.path.basename(version_dir)}_{name}"
    return os.path.join(run_directory(source), EVAL_DIR, name)


def load_model(path, float32=True):
    """Load a kgen model from a run directory, a ``.keras`` file (in Keras safe mode) or a
    SavedModel version directory written by ``kgen export``.

    A model trained in mixed precision (e.g. ``mixed_bfloat16``, what ``--precision auto`` picks on CPUs
    with bfloat16 units) keeps float32 weights; by default it is loaded to compute in float32, so its
    samples, evaluation and export show the images those weights define. Sampled in bfloat16, pixels of
    the Fashion-MNIST GAN moved by up to 20 uint8 levels and its export served batches of 1 and 64
    more slowly (docs/performance.md). ``keras.saving.load_model`` keeps the training precision.

    Args:
        path: a run dir (holding ``model.keras``), a ``.keras`` file or an export directory.
        float32: compute in float32 (default); ``False``: in the precision the model trained in.

    Returns:
        The model — a :class:`kgen.models.GenerativeModel` compiled as it was saved, or a
        :class:`kgen.export.ExportedModel` for a SavedModel (it samples the same way).

    Raises:
        RunError: the path does not exist, holds no model, the file is not a valid ``.keras`` archive,
            or it is not a kgen model.
    """
    from kgen.export import ExportedModel, is_export
    from kgen.models import GenerativeModel
    from kgen.models.runtime import float32_networks

    path = str(path)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb")):
        if not is_export(path):
            raise RunError(f"{path} is a SavedModel, but not one exported by `kgen export`.")
        if not os.path.isdir(os.path.join(path, "variables")):
            raise RunError(f"SavedModel {path} has no variables/ directory: it was copied or written incompletely.")
        try:
            return ExportedModel(path)
        except Exception as e:  # TensorFlow raises several types for damaged SavedModels
            raise RunError(f"Cannot load the SavedModel {path}: {_first_line(e)}") from None
    if os.path.isdir(path):
        file = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(file):
            raise RunError(f"Run dir {path} has no {MODEL_FILE}: expected a directory written by `kgen fit`.")
    elif os.path.isfile(path):
        file = path
    else:
        raise RunError(f"{path} does not exist: expected a run dir or a .keras file.")
    if not zipfile.is_zipfile(file):
        raise RunError(f"{file} is not a valid .keras file (truncated or not a Keras archive).")
    try:
        with float32_networks() if float32 else contextlib.nullcontext():
            model = keras.saving.load_model(file, safe_mode=True)
    except Exception as e:  # Keras raises many types for malformed archives
        raise RunError(f"Cannot load {file}: {_first_line(e)}") from None
    if not isinstance(model, GenerativeModel):
        raise RunError(f"{file} holds a {type(model).__name__}, not a kgen model.")
    return model


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
