"""Training-state checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is one ``.npz`` file holding the value of every variable of the model (weights, the
seed generators' states, the loss trackers' running sums), of every optimiser (iteration counter,
learning rate, slots), and a JSON record of the position in training (epoch, step within it) and of
the callbacks' state. It is written to a temporary file, flushed to disk and renamed over the
previous one, so a crash at any moment leaves the last complete checkpoint intact. :class:`Checkpointer`
decides when one is due during training.
"""

from __future__ import annotations

import dataclasses
import json
import time
import zipfile

import numpy as np

from kgen.config import parse_interval
from kgen.files import atomic_write

STATE_KEY = "__state__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored into the model at hand; the message says why."""


def training_variables(model):
    """Every variable whose value is part of the training state, in a fixed order.

    Args:
        model: a compiled kgen model whose optimisers are built.

    Returns:
        ``[(name, variable)]``: the model's variables (weights and seed-generator states), its metric
        trackers' variables, then each optimiser's variables, role by role.
    """
    named = [(f"model/{i}/{v.path}", v) for i, v in enumerate(model.variables)]
    named += [(f"metrics/{i}/{v.path}", v) for i, v in enumerate(model.metrics_variables)]
    for role in model.optimizer_roles:
        named += [(f"{role}/{i}/{v.path}", v) for i, v in enumerate(getattr(model, role).variables)]
    return named


def save_checkpoint(path, model, state):
    """Write the model's training state and ``state`` (a JSON-serialisable dict) to ``path`` atomically.

    Args:
        path: the ``.npz`` file.
        model: the model (its optimisers built).
        state: position and callback state, e.g. ``{"epoch": 2, "step": 100, ...}``.
    """
    named = training_variables(model)
    arrays = {f"{i:05d}": np.asarray(v.numpy()) for i, (_, v) in enumerate(named)}
    record = dict(state, variable_names=[name for name, _ in named])
    arrays[STATE_KEY] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def read_state(path):
    """The JSON record of a checkpoint (position, callback state), without loading its arrays.

    Raises:
        CheckpointError: the file is missing, truncated or not a kgen checkpoint.
    """
    try:
        with np.load(path) as archive:
            return json.loads(archive[STATE_KEY].tobytes().decode())
    except FileNotFoundError:
        raise CheckpointError(f"No checkpoint at {path}.") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"Checkpoint {path} is damaged or not a kgen checkpoint ({type(e).__name__}).") from None


def load_checkpoint(path, model):
    """Assign the variables saved in ``path`` to ``model`` and return the checkpoint's state record.

    Raises:
        CheckpointError: the file is damaged, or was written by a model with different variables.
    """
    state = read_state(path)
    named = training_variables(model)
    saved_names = state.pop("variable_names", [])
    if len(saved_names) != len(named):
        raise CheckpointError(
            f"Checkpoint {path} holds {len(saved_names)} variables; this model has {len(named)}: "
            "it was written by a different model or settings."
        )
    with np.load(path) as archive:
        values = [archive[f"{i:05d}"] for i in range(len(named))]
    for (name, variable), value in zip(named, values):
        if tuple(variable.shape) != value.shape:
            raise CheckpointError(
                f"Checkpoint {path}: variable {name} has shape {value.shape}; this model's has {tuple(variable.shape)}."
            )
    for (_, variable), value in zip(named, values):
        variable.assign(value)
    return state


@dataclasses.dataclass
class Position:
    """Where training is: ``step`` steps of the 0-based ``epoch`` are done."""

    epoch: int = 0
    step: int = 0


class Checkpointer:
    """Decides when to checkpoint and writes the model's training state and the callbacks' state.

    Callbacks that can be resumed implement ``resume_state()`` (a JSON-serialisable value) and
    ``restore_state(value)``.

    Args:
        path: the checkpoint file (``.npz``).
        every: interval, as :func:`parse_interval` reads it; checkpoints are also written at the end
            of every epoch and when training stops on a signal.
    """

    def __init__(self, path, every="2m"):
        self.path = path
        self.every_steps, self.every_seconds = parse_interval(every)
        self._last_time = time.monotonic()
        self.saved = None  # Position of the last checkpoint written or restored

    def due(self, position):
        """Whether a checkpoint is due after the step that led to ``position``."""
        if self.every_steps:
            return position.step % self.every_steps == 0
        if self.every_seconds:
            return time.monotonic() - self._last_time >= self.every_seconds
        return False

    def save(self, model, position, callbacks, extra=None):
        """Write a checkpoint of ``model`` at ``position`` with each resumable callback's state."""
        states = {type(c).__name__: c.resume_state() for c in callbacks if hasattr(c, "resume_state")}
        save_checkpoint(self.path, model, dict(epoch=position.epoch, step=position.step, callbacks=states,
                                               **(extra or {})))
        self.saved = dataclasses.replace(position)
        self._last_time = time.monotonic()

    def restore(self, model, callbacks=()):
        """Load the checkpoint into ``model`` and the callbacks; returns ``(Position, state record)``."""
        state = load_checkpoint(self.path, model)
        for c in callbacks:
            name = type(c).__name__
            if hasattr(c, "restore_state") and name in state.get("callbacks", {}):
                c.restore_state(state["callbacks"][name])
        self.saved = Position(state["epoch"], state["step"])
        return dataclasses.replace(self.saved), state
