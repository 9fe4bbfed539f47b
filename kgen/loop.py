"""kgen's training loop: ``Model.fit``'s loop over the model's own ``train_step``, with what long runs
need on top — checkpoints of the full training state, resuming at any step, a clean stop on
Ctrl-C / SIGTERM, and a stop (or rollback) when a loss becomes NaN or infinite.

The loop calls Keras callbacks exactly as ``fit`` does (progress bar, history, TensorBoard and
kgen's own callbacks work unchanged) and runs the same compiled step function as ``fit``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from kgen.checkpoint import load_checkpoint, save_checkpoint, training_variables
from kgen.config import ON_NAN_CHOICES, parse_interval
from kgen.distribute import distribute


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on a signal (SIGINT / SIGTERM) after saving a checkpoint; the message says how
    to resume. A ``KeyboardInterrupt``, so code that handles Ctrl-C handles it too.

    Attributes:
        signal_name: ``"SIGINT"`` or ``"SIGTERM"``.
        epoch, step: the position saved (``step`` steps of 0-based ``epoch`` done).
    """

    def __init__(self, signal_name, epoch, step):
        super().__init__(f"Interrupted by {signal_name}: the training state is saved (epoch {epoch + 1}, step {step}). "
                         "Run the same command again to resume.")
        self.signal_name, self.epoch, self.step = signal_name, epoch, step


class DivergenceError(ValueError):
    """A loss became NaN or infinite; the message names it and where the last good state is."""


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


@contextlib.contextmanager
def stop_signals():
    """Within the context, SIGINT and SIGTERM set a flag (read ``flag["signal"]``) instead of raising, so
    the loop can stop between steps with a checkpoint; a second SIGINT interrupts at once.

    Yields:
        A dict whose ``"signal"`` is ``None`` or the name of the first signal received.
    """
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread
        return

    def handler(number, frame):
        if flag["signal"] is not None and number == signal.SIGINT:
            raise KeyboardInterrupt
        flag["signal"] = signal.Signals(number).name

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def non_finite(logs):
    """``{name: value}`` of the entries of ``logs`` that are NaN or infinite."""
    bad = {}
    for name, value in logs.items():
        value = float(np.asarray(value))
        if not math.isfinite(value):
            bad[name] = value
    return bad


def scale_learning_rates(model, factor):
    """Multiply the learning rate of every optimiser of ``model`` by ``factor``; returns the new rates."""
    rates = {}
    for role in model.optimizer_roles:
        optimizer = getattr(model, role)
        optimizer.learning_rate = float(np.asarray(optimizer.learning_rate)) * factor
        rates[role] = float(np.asarray(optimizer.learning_rate))
    return rates


def train(model, pipeline, epochs, callbacks=(), validation=None, verbose=1, checkpointer=None, resume=False,
          on_nan="stop", nan_lr_factor=0.5, max_rollbacks=3, strategy=None):
    """Train ``model`` for ``epochs`` epochs of ``pipeline``, as ``model.fit`` would, resumably.

    Args:
        model: a compiled kgen model.
        pipeline: a :class:`kgen.data.EpochPipeline` (epoch ``e``'s batches depend only on the seed and ``e``).
        epochs: the total number of epochs (a resumed run continues up to it).
        callbacks: Keras callbacks.
        validation: a dataset evaluated after each epoch (``val_`` entries in the logs), or ``None``.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.
        checkpointer: a :class:`Checkpointer`, or ``None`` for no checkpoints (then no resume, no
            rollback, and a signal stops training with ``KeyboardInterrupt``).
        resume: restore the checkpoint and continue from its position.
        on_nan: ``"stop"`` (raise :class:`DivergenceError`) or ``"rollback"`` (restore the last
            checkpoint, multiply the learning rates by ``nan_lr_factor`` and go on; at most
            ``max_rollbacks`` times).
        strategy: the ``tf.distribute`` strategy the model was built under (default: none); each
            global batch is split across its replicas.

    Returns:
        The rollbacks made (``[{"at", "to_epoch", "to_step", "learning_rates"}]``); the history is in
        the callbacks (e.g. :class:`kgen.callbacks.EpochHistory`).

    Raises:
        TrainingInterrupted: SIGINT / SIGTERM (after a checkpoint).
        DivergenceError: a NaN / infinite loss (the last checkpoint is left as it was).
    """
    if on_nan not in ON_NAN_CHOICES:
        raise ValueError(f"on_nan must be one of {', '.join(ON_NAN_CHOICES)}; got {on_nan!r}.")
    if checkpointer is None and (resume or on_nan == "rollback"):
        raise ValueError("resume and on_nan='rollback' need a checkpointer.")
    callbacks = list(callbacks)
    strategy = strategy or tf.distribute.get_strategy()
    steps = pipeline.info.steps_per_epoch

    def batches(position):
        return iter(distribute(strategy, pipeline.epoch(position.epoch, skip=position.step)))

    callback_list = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                 verbose=verbose, epochs=epochs, steps=steps, model=model)
    model.stop_training = False
    step = model.make_train_function() or model.train_function
    if strategy is not tf.distribute.get_strategy():
        step = distributed_step(model, strategy)
    with strategy.scope():
        model.build_optimizers()
    callback_list.on_train_begin()
    rollbacks = []
    position = Position()
    if resume:
        position, state = checkpointer.restore(model, callbacks)
        rollbacks = state.get("rollbacks", [])
    elif checkpointer is not None:
        checkpointer.save(model, position, callbacks)  # a state to roll back to before the first interval

    def checkpoint():
        """Save the state unless a weight has become non-finite; return the names of those that have."""
        bad = non_finite_weights(model)
        if not bad:
            checkpointer.save(model, position, callbacks, {"rollbacks": rollbacks})
        return bad

    def diverged(bad, where):
        """Stop, or roll back to the last checkpoint with lower learning rates; returns the new position."""
        if on_nan != "rollback" or len(rollbacks) >= max_rollbacks:
            raise DivergenceError(_divergence_message(bad, where, checkpointer, len(rollbacks)))
        restored, _ = checkpointer.restore(model, callbacks)
        rates = scale_learning_rates(model, nan_lr_factor)
        rollbacks.append({"at": where, "to_epoch": restored.epoch, "to_step": restored.step, "learning_rates": rates})
        names = ", ".join(list(bad)[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        print(f"\nkgen: {names} became non-finite at {where}; rolled back to epoch {restored.epoch + 1}, "
              f"step {restored.step} with learning rates × {nan_lr_factor:g} ({len(rollbacks)}/{max_rollbacks}).",
              flush=True)
        return restored

    epoch_logs = {}
    try:
        with stop_signals() if checkpointer is not None else contextlib.nullcontext({"signal": None}) as signals:
            while position.epoch < epochs:
                if position.step == 0:
                    model.reset_metrics()
                callback_list.on_epoch_begin(position.epoch)
                iterator = batches(position)
                while position.step < steps:
                    callback_list.on_train_batch_begin(position.step)
                    logs = step(iterator)
                    bad = non_finite(logs)
                    where = f"epoch {position.epoch + 1}, step {position.step + 1}"
                    if not bad:
                        position.step += 1
                        callback_list.on_train_batch_end(position.step - 1, logs)
                        if signals["signal"] is not None:
                            break
                        if checkpointer is not None and checkpointer.due(position):
                            bad = checkpoint()
                        if not bad:
                            if model.stop_training:
                                break
                            continue
                    # A step's loss is computed before its update, so the weights can turn NaN one step
                    # before a loss shows it: checkpoint() checks the weights too.
                    position = diverged(bad, where)
                    iterator = batches(position)
                if signals["signal"] is not None and position.step < steps:
                    bad = checkpoint()  # mid-epoch: no epoch-end work, stop at once
                    if bad:
                        where = f"epoch {position.epoch + 1}, step {position.step}"
                        raise DivergenceError(_divergence_message(bad, where, checkpointer, len(rollbacks)))
                    raise TrainingInterrupted(signals["signal"], position.epoch, position.step)
                epoch_logs = dict(model.get_metrics_result())
                if validation is not None:
                    val_logs = model.evaluate(validation, verbose=0, return_dict=True)
                    epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
                callback_list.on_epoch_end(position.epoch, epoch_logs)
                position = Position(position.epoch + 1, 0)
                if checkpointer is not None:
                    bad = checkpoint()
                    if bad:
                        position = diverged(bad, f"the end of epoch {position.epoch}")
                        continue
                if signals["signal"] is not None:
                    raise TrainingInterrupted(signals["signal"], position.epoch, position.step)
                if model.stop_training:
                    break
    finally:
        callback_list.on_train_end(logs=epoch_logs)  # closes the TensorBoard writers, whatever happened
    return rollbacks


def distributed_step(model, strategy):
    """One training step under ``strategy``: the model's own ``train_step`` on every replica through
    ``strategy.run``, its logs averaged over the replicas.

    (Keras' own step function reduces scalar logs in a way MultiWorkerMirroredStrategy rejects —
    keras-team/keras#20585 — so kgen uses this one under every strategy but the default.)
    """

    @tf.function
    def step(iterator):
        logs = strategy.run(model.train_step, args=(next(iterator),))
        return {name: strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for name, value in logs.items()}

    return step


def non_finite_weights(model):
    """The model's and optimisers' float variables holding a NaN or an infinity, as
    ``{"weight <path>": "non-finite"}`` (the form of :func:`non_finite`)."""
    return {f"weight {name.split('/', 2)[-1]}": "non-finite" for name, v in training_variables(model)
            if v.dtype.startswith("float") and not np.isfinite(v.numpy()).all()}


def _divergence_message(bad, where, checkpointer, rollbacks_done):
    values = ", ".join(f"{name}={value}" for name, value in list(bad.items())[:3])
    if len(bad) > 3:
        values += f" and {len(bad) - 3} more"
    text = f"Training diverged: {values} at {where}"
    if rollbacks_done:
        text += f" after {rollbacks_done} rollback(s) with lower learning rates"
    if checkpointer is not None and checkpointer.saved is not None:
        saved = checkpointer.saved
        text += f". The last good checkpoint (epoch {saved.epoch + 1}, step {saved.step}) is kept: "
        if not rollbacks_done:
            text += "run the same command with --on-nan rollback to go on from it with lower learning rates, or "
        text += "start over with a lower --lr and --overwrite"
    return text + "."
