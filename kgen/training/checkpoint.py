"""Training-state checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint is one ``.npz`` file holding the value of every variable of the model (weights, the
seed generators' states, the loss trackers' running sums), of every optimiser (iteration counter,
learning rate, slots), and a JSON record of the position in training (epoch, step within it) and of
the callbacks' state. It is written to a temporary file, flushed to disk and renamed, so a crash at
any moment leaves the complete checkpoints intact.

:class:`Checkpointer` decides when one is due during training and keeps the last ``keep`` of them
(*generations*, ``state-e<epoch>-s<step>.npz``): a damaged newest one is reported and the one before
it used.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import zipfile

import numpy as np

from kgen.files import atomic_write
from kgen.run.config import parse_interval
from kgen.run.layout import GENERATION, checkpoint_files, generation_name

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


def held_outside_model_file(name):
    """Whether the training variable ``name`` (as :func:`training_variables` names it) is state that
    ``model.keras`` does not save: a seed generator's state or a loss tracker's running sum."""
    return name.startswith("metrics/") or name.endswith("seed_generator_state")


def read_arrays(path, keys):
    """The arrays ``keys`` of the checkpoint at ``path`` (``{key: array}``)."""
    with np.load(path) as archive:
        return {k: archive[k] for k in keys}


def state_bytes(model):
    """About how many bytes the model's training state takes (4 per number: float32 weights and slots)."""
    return 4 * sum(int(np.prod(v.shape)) for _, v in training_variables(model))


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
    with atomic_write(path, "wb", needed=sum(a.nbytes for a in arrays.values())) as f:
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


KEEP = 2  # checkpoint generations kept by default


class Checkpointer:
    """Decides when to checkpoint, writes the model's training state and the callbacks' state, keeps the
    last ``keep`` checkpoints and restores the newest one that is intact.

    Callbacks that can be resumed implement ``resume_state()`` (a JSON-serialisable value) and
    ``restore_state(value)``.

    Args:
        directory: where the checkpoints go (a run's ``checkpoint/``).
        every: interval, as :func:`parse_interval` reads it. The end of an epoch is checkpointed too, but for a time
            interval only once that time has passed (:meth:`due_at_epoch_end`); the end of training and a stop on
            a signal always are (:class:`kgen.training.loop.Trainer`).
        keep: how many checkpoints to keep (the newest); at least 1.
    """

    def __init__(self, directory, every="2m", keep=KEEP):
        if int(keep) < 1:
            raise ValueError(f"keep must be at least 1 checkpoint; got {keep!r}.")
        self.directory, self.keep = directory, int(keep)
        self.every_steps, self.every_seconds = parse_interval(every)
        self._last_time = time.monotonic()
        self.saved = None  # Position of the last checkpoint written or restored
        self.write_seconds = []  # how long each checkpoint took to write

    def files(self):
        """The checkpoints on disk, newest first."""
        return checkpoint_files(self.directory)

    def due(self, position):
        """Whether a checkpoint is due after the step that led to ``position``."""
        if self.every_steps:
            return position.step % self.every_steps == 0
        return bool(self.every_seconds) and self._interval_passed()

    def due_at_epoch_end(self):
        """Whether the end of an epoch that does not end training is to be checkpointed: always with an interval in
        steps or none (epoch ends only); with a time interval only once it has passed, so that short epochs (small
        data sets) do not spend their time writing the full state (a fifth of it at 2,000 images: docs/quality.md)."""
        return not self.every_seconds or self._interval_passed()

    def _interval_passed(self):
        return time.monotonic() - self._last_time >= self.every_seconds

    def save(self, model, position, callbacks, extra=None):
        """Write a checkpoint of ``model`` at ``position`` with each resumable callback's state, then delete
        the checkpoints beyond the newest ``keep``."""
        start = time.perf_counter()
        states = {type(c).__name__: c.resume_state() for c in callbacks if hasattr(c, "resume_state")}
        path = os.path.join(self.directory, generation_name(position))
        save_checkpoint(path, model, dict(epoch=position.epoch, step=position.step, callbacks=states,
                                          **(extra or {})))
        for old in [f for f in self.files() if f != path][self.keep - 1:]:
            os.remove(old)
        self.saved = dataclasses.replace(position)
        self._last_time = time.monotonic()
        self.write_seconds.append(time.perf_counter() - start)

    def restore(self, model, callbacks=()):
        """Load the newest intact checkpoint into ``model`` and the callbacks; returns ``(Position, state
        record)``. A damaged newer checkpoint is reported on stderr and skipped.

        Raises:
            CheckpointError: no checkpoint, or none that can be restored (the message lists why).
        """
        problems, newer = [], []
        for path in self.files():
            try:
                state = load_checkpoint(path, model)
            except CheckpointError as e:
                problems.append(str(e))
                newer.append(path)
                continue
            if problems:
                print(f"kgen: {' '.join(problems)} Going back to the previous checkpoint, {os.path.basename(path)}: "
                      f"epoch {state['epoch'] + 1}, step {state['step']}.", file=sys.stderr, flush=True)
            for damaged in newer:  # the newest file on disk is always the state training goes on from
                os.remove(damaged)
            for c in callbacks:
                name = type(c).__name__
                if hasattr(c, "restore_state") and name in state.get("callbacks", {}):
                    c.restore_state(state["callbacks"][name])
            self.saved = Position(state["epoch"], state["step"])
            return dataclasses.replace(self.saved), state
        if not problems:
            raise CheckpointError(f"No checkpoint in {self.directory}.")
        raise CheckpointError(" ".join(problems) + " No intact checkpoint is left: start over with --overwrite.")

    def discard_after(self, position):
        """Delete the checkpoints written after ``position`` (a rollback went back to it: they hold the
        trajectory that diverged)."""
        keep = generation_name(position)
        for path in self.files():
            name = os.path.basename(path)
            if GENERATION.match(name) and name > keep:
                os.remove(path)

    def newest(self):
        """``(path, state record)`` of the newest readable checkpoint (``None`` if none is)."""
        for path in self.files():
            try:
                return path, read_state(path)
            except CheckpointError:
                continue
        return None

    def drop(self):
        """Delete every checkpoint (their state is in the finished run's ``model.keras``)."""
        for path in self.files():
            os.remove(path)
