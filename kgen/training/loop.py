"""kgen's training loop, :class:`Trainer`: ``Model.fit``'s loop over the model's own ``train_step``, with
what long runs need on top — checkpoints of the full training state, resuming at any step, a clean stop
on Ctrl-C / SIGTERM, and a stop (or rollback) when a loss becomes NaN or infinite."""

from __future__ import annotations

import contextlib
import math

import keras
import numpy as np
import tensorflow as tf

from kgen.run.settings import RUN_SETTING
from kgen.training.checkpoint import Position, training_variables
from kgen.training.distribute import distribute_dataset
from kgen.training.signals import stop_signals


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


def non_finite(logs):
    """``{name: value}`` of the entries of ``logs`` that are NaN or infinite."""
    bad = {}
    for name, value in logs.items():
        value = float(np.asarray(value))
        if not math.isfinite(value):
            bad[name] = value
    return bad


def learning_rates(model):
    """Each optimiser's learning rate now, ``{role: rate}``, to 7 significant digits (a float32 variable holds
    8e-4 as 7.99999979e-4)."""
    return {role: float(f"{float(np.asarray(getattr(model, role).learning_rate)):.7g}")
            for role in model.optimizer_roles}


def scale_learning_rates(model, factor):
    """Multiply the learning rate of every optimiser of ``model`` by ``factor``; returns the new rates."""
    for role in model.optimizer_roles:
        optimizer = getattr(model, role)
        optimizer.learning_rate = float(np.asarray(optimizer.learning_rate)) * factor
    return learning_rates(model)


class Trainer:
    """Trains a compiled kgen model over an epoch pipeline as ``model.fit`` would, resumably: checkpoints
    of the full training state, resuming at any step, a clean stop on Ctrl-C / SIGTERM, and a stop (or a
    rollback) when a loss or a weight becomes NaN or infinite.

    It calls Keras callbacks exactly as ``fit`` does (progress bar, history, TensorBoard and kgen's own
    callbacks work unchanged) and runs the same compiled step function as ``fit`` (or, under a
    distribution strategy, the model's ``train_step`` through ``strategy.run``: :func:`distributed_step`).

    Args:
        model: a compiled kgen model.
        pipeline: a :class:`kgen.data.EpochPipeline` (epoch ``e``'s batches depend only on the seed and ``e``).
        callbacks: Keras callbacks.
        validation: a dataset evaluated after each epoch (``val_`` entries in the logs), or ``None``.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.
        checkpointer: a :class:`kgen.training.checkpoint.Checkpointer`, or ``None`` for no checkpoints (then no
            resume, no rollback, and a signal stops training with ``KeyboardInterrupt``).
        on_nan: ``"stop"`` (raise :class:`DivergenceError`) or ``"rollback"`` (restore the last
            checkpoint, multiply the learning rates by ``nan_lr_factor`` and go on; at most
            ``max_rollbacks`` times).
        strategy: the ``tf.distribute`` strategy the model was built under (default: none); each
            global batch is split across its replicas.

    Attributes:
        position: where training is (:class:`kgen.training.checkpoint.Position`).
        rollbacks: the rollbacks made (``[{"at", "to_epoch", "to_step", "learning_rates"}]``).

    Example:
        >>> pipeline, info = kgen.load_epochs("fashion_mnist", value_range=gan.output_range)  # doctest: +SKIP
        >>> Trainer(gan, pipeline, checkpointer=Checkpointer("run/checkpoint")).fit(epochs=5)
    """

    def __init__(self, model, pipeline, callbacks=(), validation=None, verbose=1, checkpointer=None, on_nan="stop",
                 nan_lr_factor=0.5, max_rollbacks=3, strategy=None):
        RUN_SETTING["on_nan"].check(on_nan)
        if checkpointer is None and on_nan == "rollback":
            raise ValueError("on_nan='rollback' needs a checkpointer.")
        self.model, self.pipeline, self.callbacks = model, pipeline, list(callbacks)
        self.validation, self.verbose, self.checkpointer = validation, verbose, checkpointer
        self.on_nan, self.nan_lr_factor, self.max_rollbacks = on_nan, nan_lr_factor, max_rollbacks
        self.strategy = strategy or tf.distribute.get_strategy()
        self.steps = pipeline.info.steps_per_epoch
        self.epochs = None  # the total fit() trains up to
        self.position = Position()
        self.rollbacks = []
        self.epoch_logs = {}
        self._signals = {"signal": None}

    def fit(self, epochs, resume=False):
        """Train up to ``epochs`` epochs in all (a resumed run continues up to it).

        Args:
            epochs: the total number of epochs.
            resume: restore the checkpoint and continue from its position.

        Returns:
            The rollbacks made; the history is in the callbacks (e.g. :class:`kgen.training.callbacks.EpochHistory`).

        Raises:
            TrainingInterrupted: SIGINT / SIGTERM (after a checkpoint).
            DivergenceError: a NaN / infinite loss (the last checkpoint is left as it was).
        """
        if self.checkpointer is None and resume:
            raise ValueError("resume needs a checkpointer.")
        self.epochs = epochs
        self._begin(epochs, resume)
        try:
            with stop_signals() if self.checkpointer is not None else contextlib.nullcontext({"signal": None}) as flag:
                self._signals = flag
                while self.position.epoch < epochs and self._epoch():
                    pass
        finally:
            self.callback_list.on_train_end(logs=self.epoch_logs)  # closes the TensorBoard writers, whatever happened
        return self.rollbacks

    # ------------------------------------------------------------------------------------ the loop
    def _begin(self, epochs, resume):
        self.callback_list = keras.callbacks.CallbackList(self.callbacks, add_history=True,
                                                          add_progbar=self.verbose != 0, verbose=self.verbose,
                                                          epochs=epochs, steps=self.steps, model=self.model)
        self.model.stop_training = False
        self.step_function = self.model.make_train_function() or self.model.train_function
        if self.strategy is not tf.distribute.get_strategy():
            self.step_function = distributed_step(self.model, self.strategy)
        with self.strategy.scope():
            self.model.build_optimizers()
        self.callback_list.on_train_begin()
        if resume:
            self.position, state = self.checkpointer.restore(self.model, self.callbacks)
            self.rollbacks = state.get("rollbacks", [])
        elif self.checkpointer is not None:
            self.checkpointer.save(self.model, self.position, self.callbacks)  # a state to roll back to

    def _epoch(self):
        """The rest of the current epoch and its end; whether training goes on after it."""
        if self.position.step == 0:
            self.model.reset_metrics()
        self.callback_list.on_epoch_begin(self.position.epoch)
        self._steps()
        if self._signalled() and self.position.step < self.steps:
            self._stop_mid_epoch()
        return self._end_epoch()

    def _steps(self):
        """Run steps until the epoch's last, a signal, or a callback's stop."""
        iterator = self._batches()
        while self.position.step < self.steps:
            if not self._step(iterator):
                iterator = self._batches()  # rolled back: the batches from the restored position
            elif self._signalled() or self.model.stop_training:
                return

    def _step(self, iterator):
        """One training step (and a checkpoint when due); ``False`` when it diverged and was rolled back."""
        self.callback_list.on_train_batch_begin(self.position.step)
        logs = self.step_function(iterator)
        where = f"epoch {self.position.epoch + 1}, step {self.position.step + 1}"
        bad = non_finite(logs)
        if not bad:
            self.position.step += 1
            self.callback_list.on_train_batch_end(self.position.step - 1, logs)
            if not self._signalled() and self.checkpointer is not None and self.checkpointer.due(self.position):
                # A step's loss is computed before its update, so the weights can turn NaN a step
                # before a loss shows it: checkpoint() checks the weights too.
                bad = self.checkpoint()
        if bad:
            self.rollback(bad, where)
            return False
        return True

    def _end_epoch(self):
        """Validation, the epoch's callbacks and checkpoint; whether training goes on."""
        logs = dict(self.model.get_metrics_result())
        if self.validation is not None:
            val_logs = self.model.evaluate(self.validation, verbose=0, return_dict=True)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        self.callback_list.on_epoch_end(self.position.epoch, logs)
        self.epoch_logs = logs
        self.position = Position(self.position.epoch + 1, 0)
        if self.checkpointer is not None:
            # The last epoch's state becomes model.keras, and a signal's stop resumes from its checkpoint.
            ending = self.model.stop_training or self._signalled() or self.position.epoch >= self.epochs
            bad = self.checkpoint(write=ending or self.checkpointer.due_at_epoch_end())
            if bad:
                self.rollback(bad, f"the end of epoch {self.position.epoch}")
                return True
        if self._signalled():
            raise TrainingInterrupted(self._signals["signal"], self.position.epoch, self.position.step)
        return not self.model.stop_training

    def _stop_mid_epoch(self):
        """A signal mid-epoch: checkpoint, no epoch-end work, stop at once."""
        bad = self.checkpoint()
        if bad:
            where = f"epoch {self.position.epoch + 1}, step {self.position.step}"
            raise DivergenceError(_divergence_message(bad, where, self.checkpointer, len(self.rollbacks)))
        raise TrainingInterrupted(self._signals["signal"], self.position.epoch, self.position.step)

    def _batches(self):
        epoch = self.pipeline.epoch(self.position.epoch, skip=self.position.step)
        return iter(distribute_dataset(self.strategy, epoch))

    def _signalled(self):
        return self._signals["signal"] is not None

    # ------------------------------------------------------------------------- state on disk
    def checkpoint(self, write=True):
        """Save the state (if ``write``) unless a weight has become non-finite; return the names of those that have."""
        bad = non_finite_weights(self.model)
        if write and not bad:
            self.checkpointer.save(self.model, self.position, self.callbacks, {"rollbacks": self.rollbacks})
        return bad

    def rollback(self, bad, where):
        """Stop, or roll back to the last checkpoint with lower learning rates (``on_nan``).

        Raises:
            DivergenceError: ``on_nan`` is ``"stop"``, or the rollbacks are used up.
        """
        if self.on_nan != "rollback" or len(self.rollbacks) >= self.max_rollbacks:
            raise DivergenceError(_divergence_message(bad, where, self.checkpointer, len(self.rollbacks)))
        restored, _ = self.checkpointer.restore(self.model, self.callbacks)
        self.checkpointer.discard_after(restored)
        rates = scale_learning_rates(self.model, self.nan_lr_factor)
        self.rollbacks.append({"at": where, "to_epoch": restored.epoch, "to_step": restored.step,
                               "learning_rates": rates})
        names = ", ".join(list(bad)[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        print(f"\nkgen: {names} became non-finite at {where}; rolled back to epoch {restored.epoch + 1}, "
              f"step {restored.step} with learning rates × {self.nan_lr_factor:g} "
              f"({len(self.rollbacks)}/{self.max_rollbacks}).", flush=True)
        self.position = restored


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
