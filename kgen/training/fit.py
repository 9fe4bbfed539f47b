"""What ``kgen fit`` does: data → model → compile → fit with callbacks → run directory."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from kgen.data import DataError, NoSplitError, load_dataset, load_epochs
from kgen.data.real_images import held_out_examples
from kgen.evaluation.features import check_ceiling_capacity
from kgen.evaluation.protocol import parse_metrics
from kgen.files import WriteError, atomic_path, read_json, write_json
from kgen.hardware import resolve_precision
from kgen.models import registry
from kgen.plots import plot_history
from kgen.run import layout
from kgen.run.config import RunConfig, parse_interval
from kgen.run.locks import LOCK_FILE, directory_lock
from kgen.run.record import CONFIG_FILE, RunRecord, RunStatus, now
from kgen.run.settings import MODEL_OPTION, RESUMABLE_SETTINGS, RUN_SETTING, TRAINING_STEPS_PER_VALIDATION_BATCH
from kgen.training.callbacks import (TRAIN_RUN, BudgetProgress, EpochHistory, MetricsMonitor, ReconstructionGrid,
                                     RunTensorBoard, SampleGrid, TimeBudget, TrainingClock)
from kgen.training.checkpoint import (Checkpointer, Position, generation_name, held_outside_model_file, read_arrays,
                                      save_checkpoint, state_bytes, training_variables)
from kgen.training.distribute import is_chief, make_strategy, precision_policy
from kgen.training.loop import DivergenceError, Trainer, TrainingInterrupted, learning_rates
from kgen.training.prior import fit_latent_prior


class RunDirError(ValueError):
    """The run directory cannot be used (it holds an earlier run and overwriting was not asked)."""


@dataclasses.dataclass
class FitResult:
    """What a finished :func:`fit_run` produced.

    Attributes:
        run_dir: the run directory.
        model: the trained model.
        history: ``{name: [value per epoch]}`` including ``epoch_seconds``.
        grid_paths: the PNG sample grids written (after the first and the last epoch, and in between at most one
            per ``kgen.run.settings.SECONDS_BETWEEN_GRIDS``).
        checkpoint_seconds: how long each checkpoint written by this call took.
    """

    run_dir: str
    model: keras.Model
    history: dict
    grid_paths: list
    checkpoint_seconds: list = dataclasses.field(default_factory=list)


def default_run_dir(config, root=layout.DEFAULT_ROOT):
    """``saved_models/<model>-<arch>-<YYYYmmdd-HHMMSS>``."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(root, f"{config.model}-{config.arch or 'default'}-{stamp}")


def build_model(config, image_shape, strategy=None, num_classes=0, precision=None):
    """The model a config asks for, on images of ``image_shape``, compiled with its optimizers (each
    wrapped for loss scaling under ``mixed_float16``) and with their state built.

    Args:
        config: the run settings (model, architecture, sizes, optimiser, ``precision``, ``conditional``).
        image_shape: ``(H, W, C)``.
        strategy: the ``tf.distribute`` strategy whose scope holds the variables (default: none).
        num_classes: the data's number of classes (used when ``config.conditional``).
        precision: the resolved dtype policy (default: ``config.precision`` resolved by
            :func:`kgen.hardware.resolve_precision`).
    """
    cls = registry.model_class(config.model)
    precision = precision or resolve_precision(config.precision).precision
    with (strategy or tf.distribute.get_strategy()).scope(), precision_policy(precision):
        model = cls(
            image_shape=image_shape,
            latent_dim=config.latent_dim,
            arch=config.arch,
            width=config.width,
            seed=config.seed,
            num_classes=num_classes if config.conditional else 0,
            **config.model_options,
        )
        # The model's defaults (a GAN loss may bring its published optimiser, e.g. WGAN-GP's).
        learning_rate = config.learning_rate or model.default_learning_rate
        beta_1 = model.default_beta_1 if config.beta_1 is None else config.beta_1
        beta_2 = model.default_beta_2 if config.beta_2 is None else config.beta_2
        unknown = sorted(set(config.learning_rates) - set(cls.optimizer_roles))
        if unknown:
            raise ValueError(f"learning_rates names {', '.join(unknown)}: {config.model} has the optimizers "
                             f"{', '.join(cls.optimizer_roles)}.")
        optimizers = {}
        for role in cls.optimizer_roles:
            rate = config.learning_rates.get(role, learning_rate)
            optimizer = registry.make_optimizer(config.optimizer, rate, beta_1, beta_2)
            if precision == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizers[role] = optimizer
        model.compile(**optimizers, jit_compile=config.jit_compile)
        model.build_optimizers()
    return model


def resumed_config(run_dir, changes=None, other_options=()):
    """The settings to resume the run in ``run_dir`` with: those its ``config.json`` records, with
    ``changes`` (settings that do not change training, e.g. ``epochs``) applied.

    Args:
        run_dir: a run directory written by :func:`fit_run`.
        changes: ``{setting: value}``; only :data:`RESUMABLE_SETTINGS` may change.
        other_options: names of other options given (errors: a resumed run keeps its model options).

    Raises:
        RunDirError: no run there, or a setting given that would change training.
    """
    record = RunRecord.read(run_dir) if os.path.isdir(run_dir) else None
    if record is None:
        raise RunDirError(f"{run_dir} holds no kgen run ({CONFIG_FILE} is missing): nothing to resume.")
    fixed = [name for name in RUN_SETTING if name in (changes or {}) and name not in RESUMABLE_SETTINGS]
    if fixed or other_options:
        flags = ", ".join([RUN_SETTING[name].option or name for name in fixed]
                          + [MODEL_OPTION[name].option for name in other_options])
        raise RunDirError(f"A resumed run keeps the settings that shape its training: {flags} cannot be given with "
                          f"--resume (start a new run for other settings).")
    return RunConfig.from_dict({**recorded_settings(record), **(changes or {}), "run_dir": run_dir})


def recorded_settings(record):
    """A record's run settings, with the defaults of settings added to kgen after it was written."""
    known = {f.name for f in dataclasses.fields(RunConfig)}
    return {k: v for k, v in {**RunConfig().to_dict(), **record.kgen_run}.items() if k in known}


def resume_or_start(config, overwrite=False):
    """Decide what ``fit_run`` does with ``config.run_dir``: start a new run or resume the one there.

    Returns:
        The earlier run's :class:`kgen.run.record.RunRecord` to resume, or ``None`` to start (the directory
        is then empty or new; with ``overwrite`` an earlier run is deleted).

    Raises:
        RunDirError: the directory holds something that must not be overwritten silently: files that
            are not a kgen run, a run with other settings, a finished run, or a run without a
            checkpoint whose model would be lost.
    """
    path = config.run_dir
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError(f"Run dir {path} exists and is a file: expected a directory.")
    if not os.path.isdir(path) or not [name for name in os.listdir(path) if name != LOCK_FILE]:
        return None
    if overwrite:
        clear_directory(path)
        return None
    record = RunRecord.read(path)
    if record is None:
        raise RunDirError(f"{path} is not empty and holds no kgen run: choose another --run-dir.")
    earlier = recorded_settings(record)
    changed = sorted(k for k, v in config.to_dict().items() if k not in RESUMABLE_SETTINGS and earlier.get(k) != v)
    if changed:
        details = "; ".join(f"{k}: {earlier.get(k)!r} there, {getattr(config, k)!r} now" for k in changed)
        raise RunDirError(f"Run dir {path} holds a run with other settings ({details}): give its settings to "
                          "resume it (or use --resume), choose another --run-dir, or pass --overwrite to replace it.")
    budget_spent = record.stopped and config.max_minutes == earlier.get("max_minutes")
    if record.status is RunStatus.FINISHED and (record.epochs_completed >= config.epochs or budget_spent):
        raise RunDirError(f"Run dir {path} already holds a finished run of {record.epochs_completed} epoch(s): pass a "
                          "larger --epochs (or --max-minutes) to train on, or --overwrite to start over.")
    if not layout.has_checkpoint(path) and record.status is RunStatus.FINISHED:
        checkpoint_from_model_file(path, Checkpointer(layout.checkpoint_dir(path)))  # a finished run trains on
    if not layout.has_checkpoint(path):
        if os.path.isfile(os.path.join(path, layout.MODEL_FILE)):
            raise RunDirError(f"Run dir {path} holds a model but no checkpoint to resume from: pass --overwrite to "
                              "start over, or choose another --run-dir.")
        clear_directory(path)  # it stopped before its first checkpoint: nothing to keep
        return None
    return record


def clear_directory(path):
    """Delete everything in ``path`` but its lock file (which the process deleting holds)."""
    for name in os.listdir(path):
        if name == LOCK_FILE:
            continue
        entry = os.path.join(path, name)
        if os.path.isdir(entry) and not os.path.islink(entry):
            shutil.rmtree(entry)
        else:
            os.remove(entry)


def fit_run(config, overwrite=False, verbose=None, callbacks=()):
    """Train the model a :class:`RunConfig` describes and write its run directory (what ``kgen fit``
    does); resume the run already there.

    Everything that can be checked is checked before the run dir is created, so bad input leaves
    nothing behind. The run dir receives ``config.json`` (a :class:`kgen.run.record.RunRecord`: the
    settings, the model's full config, the data, the evaluator and precision used, the run's status),
    sample grids in ``samples/`` (:attr:`FitResult.grid_paths` says when), ``history.json`` after every epoch,
    TensorBoard logs in ``logs/``, the full training state in ``checkpoint/`` (every
    ``config.checkpoint_every``, at epoch ends as :meth:`Checkpointer.due_at_epoch_end` says, and when training ends),
    and at the end ``model.keras`` and ``losses.png``.

    If ``config.run_dir`` holds an unfinished run of the same settings (those of
    :data:`RESUMABLE_SETTINGS` may differ), training resumes from its checkpoint; with op determinism
    on it ends with the same weights as an uninterrupted run. SIGINT / SIGTERM save a checkpoint and
    raise :class:`kgen.training.loop.TrainingInterrupted`; a NaN or infinite loss raises
    :class:`kgen.training.loop.DivergenceError` (``model.keras`` then holds the last good checkpoint),
    unless ``config.on_nan`` is ``"rollback"``.

    Args:
        config: the run settings.
        overwrite: replace an existing run in ``config.run_dir`` instead of resuming it.
        verbose: Keras progress (1 = bar, 2 = a line per epoch, 0 = silent); default: a bar on a
            terminal, lines otherwise.
        callbacks: extra Keras callbacks, run after kgen's own.

    Returns:
        A :class:`FitResult`.

    Raises:
        RunDirError: the run dir holds something that must not be overwritten (see :func:`resume_or_start`).

    Example:
        >>> result = fit_run(RunConfig(model="gan", data="fashion_mnist", max_minutes=5))  # doctest: +SKIP
        >>> result.grid_paths[-1]
        'saved_models/gan-dcgan-…/samples/epoch_002.png'
    """
    cls = registry.model_class(config.model)  # fail fast on unknown names, before loading data
    config = dataclasses.replace(config, arch=cls.resolve_arch(config.arch),
                                 metrics=list(parse_metrics(",".join(config.metrics))))
    precision = resolve_precision(config.precision)  # float16 on a CPU fails here, at once
    strategy = make_strategy(config.strategy)  # first: multi-worker collectives need it before other TF work
    config = dataclasses.replace(config, run_dir=config.run_dir or default_run_dir(config))
    if not is_chief(strategy):  # other workers train alongside the chief but write nothing into the run dir
        return _fit_worker(config, strategy, overwrite)
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose

    pipeline, info = load_training_data(config, cls)
    validation = validation_data(config, cls, info, strategy, verbose)
    extractor, note = training_extractor(config, info)
    if extractor is not None:
        check_ceiling_capacity(extractor, config.data, config.metrics_n, "--metrics-n")
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, info.image_shape, strategy, info.num_classes, precision.precision)
    if os.path.exists(config.run_dir) and not os.path.isdir(config.run_dir):
        raise RunDirError(f"Run dir {config.run_dir} exists and is a file: expected a directory.")
    with directory_lock(config.run_dir, "trains into"):  # one writer: a second kgen fit here stops at once
        earlier = resume_or_start(config, overwrite)
        record = start_record(config, model, info, extractor, precision, earlier)
        run = RunCallbacks(config, model, info, extractor, first=earlier is None)
        checkpointer = Checkpointer(layout.checkpoint_dir(config.run_dir),
                                    worker_interval(config.checkpoint_every, strategy), config.keep_checkpoints)
        if verbose:
            print(f"precision: {precision.precision} ({precision.reason})")
            if note:
                print(f"note: {note}", file=sys.stderr)
            newest = checkpointer.newest() if earlier is not None else None
            state = newest[1] if newest else None
            if state is not None:
                print(f"Resuming {config.run_dir} from its checkpoint: epoch {state['epoch'] + 1}, "
                      f"step {state['step']}.", file=sys.stderr)
        progress = []
        if config.max_minutes and verbose:  # minutes of the budget instead of Keras' "Epoch 1/100000"
            progress = [BudgetProgress(config.max_minutes, run.clock, config.batch_size * model.batches_per_step,
                                       interactive=verbose == 1)]
        trainer = Trainer(model, pipeline, [*run.callbacks, *progress, *callbacks], validation=validation,
                          verbose=0 if progress else verbose, checkpointer=checkpointer, on_nan=config.on_nan,
                          strategy=strategy)
        train_and_record(trainer, config, record, run, resume=earlier is not None)
    return FitResult(config.run_dir, model, run.history.history, run.grid.paths, checkpointer.write_seconds)


def validation_size(steps_per_epoch, batch_size):
    """How many test images (at most) the validation pass after each epoch of ``steps_per_epoch`` steps
    reads: one batch per :data:`kgen.run.settings.TRAINING_STEPS_PER_VALIDATION_BATCH` steps, at least one
    batch."""
    return max(1, steps_per_epoch // TRAINING_STEPS_PER_VALIDATION_BATCH) * batch_size


def validation_data(config, cls, info, strategy, verbose):
    """The test split (its first :func:`validation_size` images) as the validation data of a run, or ``None``
    (no test split, ``--no-validate``, or a multi-worker run, which skips validation)."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        if verbose != 0:
            print("note: multi-worker training: no validation pass, and checkpoints at epoch ends and step "
                  "intervals only (every worker must take them at the same steps).", file=sys.stderr)
        return None
    if not config.validate:
        return None
    try:
        validation, _ = load_dataset(config.data, config.batch_size, cls.output_range, info.image_shape[0], "test",
                                     config.seed, shuffle=False, translate=config.translate,
                                     limit=validation_size(info.steps_per_epoch, config.batch_size),
                                     classes=config.classes, labels=config.conditional)
    except NoSplitError:
        return None  # e.g. an image folder: train without validation
    return validation


def start_record(config, model, info, extractor, precision, earlier):
    """The run's :class:`kgen.run.record.RunRecord`, written into the run dir before training starts: a new
    one, or the earlier run's with this resume (and the settings that changed) appended."""
    os.makedirs(config.run_dir, exist_ok=True)
    record = RunRecord(config.to_dict(), model.get_config(), dataclasses.asdict(info),
                       evaluator=extractor.identity() if extractor else None, precision=dataclasses.asdict(precision),
                       learning_rates=learning_rates(model))
    if earlier is not None:
        changed = {k: [earlier.kgen_run.get(k), v] for k, v in config.to_dict().items()
                   if k != "run_dir" and earlier.kgen_run.get(k) != v}
        record.started, record.rollbacks = earlier.started, earlier.rollbacks
        record.learning_rates = earlier.learning_rates  # the checkpoint brings back the rates the run began with
        record.resumed = earlier.resumed + [{"at": now(), "changed": changed}]
    record.write(config.run_dir)
    if earlier is None:
        write_config_summary(os.path.join(config.run_dir, layout.LOGS_DIR), record)
    return record


class RunCallbacks:
    """kgen's callbacks of a run: metrics (first: they add values to the logs the others read), the
    training clock, the history, the sample (and reconstruction) grids, TensorBoard and the time budget."""

    def __init__(self, config, model, info, extractor, first=True):
        run_dir, logs_dir = config.run_dir, os.path.join(config.run_dir, layout.LOGS_DIR)
        self.clock = TrainingClock()  # training time: evaluations during training pause it
        self.grid = SampleGrid(os.path.join(run_dir, layout.SAMPLES_DIR), n=config.grid_size, seed=config.seed,
                               log_dir=logs_dir)
        self.history = EpochHistory(os.path.join(run_dir, layout.HISTORY_FILE))
        self.budget = TimeBudget(config.max_minutes, self.clock) if config.max_minutes else None
        self.callbacks = [self.clock, self.history, self.grid]
        if extractor is not None:
            self.callbacks.insert(0, MetricsMonitor(
                extractor, config.data, config.metrics_every, config.metrics_n, metrics=config.metrics,
                seed=config.seed, path=os.path.join(run_dir, layout.METRICS_FILE), log_dir=logs_dir,
                at_minutes=config.metrics_at or (), clock=self.clock))
        if model.has_encoder:
            held_out, labels = held_out_examples(config.data, info.image_shape[0], 32)
            self.callbacks.append(ReconstructionGrid(held_out, os.path.join(run_dir, layout.RECONSTRUCTIONS_DIR),
                                                     log_dir=logs_dir, labels=labels if model.conditional else None))
        self.callbacks.append(RunTensorBoard(log_dir=logs_dir, update_freq=config.log_every, write_graph=False))
        if self.budget is not None:
            self.callbacks.append(self.budget)


def train_and_record(trainer, config, record, run, resume):
    """Train, and whatever happens, record it: the status (and why) in ``config.json``, ``model.keras``
    (the last good state after a divergence; none after a failure) and the loss curves."""
    keep_model = True
    try:
        record.rollbacks = trainer.fit(config.epochs, resume=resume)
        if getattr(trainer.model, "prior_components", 0):
            try:
                record.latent_prior = fit_run_prior(trainer.model, config, run)
            except Exception as e:
                raise PriorFitError(f"Training finished, but fitting the latent prior failed ({type(e).__name__}: "
                                    f"{e}); model.keras keeps the trained networks, sampling from N(0, I).") from e
        record.end(RunStatus.FINISHED)
        if run.budget is not None and run.budget.stopped_early:
            record.stopped = f"time budget of {config.max_minutes:g} minutes"
    except TrainingInterrupted as e:
        record.end(RunStatus.INTERRUPTED, e.signal_name)
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: the checkpoint stays the state to resume from
        record.end(RunStatus.INTERRUPTED, "SIGINT")
        raise
    except PriorFitError as e:  # training itself finished: its model is kept
        record.end(RunStatus.FAILED, e)
        raise
    except DivergenceError as e:
        record.end(RunStatus.DIVERGED, e)
        keep_model = trainer.checkpointer.saved is not None
        if keep_model:
            trainer.checkpointer.restore(trainer.model)  # model.keras gets the last good state, not the NaN weights
        raise
    except Exception as e:
        record.end(RunStatus.FAILED, f"{type(e).__name__}: {e}")
        keep_model = False
        raise
    finally:
        failure = sys.exc_info()[1]
        try:
            _write_outcome(trainer, config, record, run, keep_model)
        except WriteError as e:
            if failure is None:
                raise
            # The first error says what went wrong (often the same full disk): this one only adds to it.
            print(f"note: {e}", file=sys.stderr)


class PriorFitError(RuntimeError):
    """Training finished but the mixture prior could not be fitted (the trained model is kept)."""


def fit_run_prior(model, config, run):
    """After training: fit the model's mixture prior to its codes of the run's training images, and draw the last
    sample grid again from it. Returns what the record keeps (:func:`kgen.training.prior.fit_latent_prior`)."""
    fitted = fit_latent_prior(model, config.data, limit=config.limit, seed=config.seed, classes=config.classes)
    print(f"Fitted the latent prior: a mixture of {fitted['components']} Gaussians to {fitted['draws']} codes each "
          f"of {fitted['images']:,} training images in {fitted['seconds']:.0f} s"
          + (f", covariances scaled by {fitted['temperature']:g}²." if fitted["temperature"] != 1 else "."),
          flush=True)
    run.grid.redraw_last()
    return fitted


def _write_outcome(trainer, config, record, run, keep_model):
    """What a run leaves whatever happened: model.keras (unless the state is lost), the loss curves, the
    record with its status."""
    # Anything trained? A diverged run's model holds its last good checkpoint; any other run, where training got to
    # (epoch ends are not all checkpointed, so an abrupt second Ctrl-C may come after the last checkpoint).
    saved = trainer.checkpointer.saved
    reached = saved if record.status is RunStatus.DIVERGED else trainer.position
    if keep_model and reached is not None and (reached.epoch or reached.step):
        save_model(trainer.model, os.path.join(config.run_dir, layout.MODEL_FILE))
        if record.status is RunStatus.FINISHED:
            keep_state_in_model_file(trainer.checkpointer, config.run_dir)
    if run.history.history["epoch_seconds"]:
        plot_history(run.history.history, os.path.join(config.run_dir, layout.LOSSES_FILE),
                     title=f"{config.model}/{config.arch}")
    record.epochs_completed = len(run.history.history["epoch_seconds"])
    record.write(config.run_dir)


FINAL_STATE = "final-state.json"  # in checkpoint/: a finished run's position and callbacks' state


def keep_state_in_model_file(checkpointer, run_dir):
    """A finished run keeps its training state once: in ``model.keras`` (weights, optimizers, the
    generator average), with the position, the callbacks' state and the few small variables
    ``model.keras`` does not save (seed generators' states, loss trackers' sums) in
    ``checkpoint/final-state.json``; the checkpoints, which held the same state again, are deleted.
    :func:`checkpoint_from_model_file` turns them back into a checkpoint to train on."""
    newest = checkpointer.newest()
    if newest is None:
        return
    path, state = newest
    keys = [f"{i:05d}" for i, name in enumerate(state["variable_names"]) if held_outside_model_file(name)]
    loose = read_arrays(path, keys)
    state["loose_variables"] = {k: {"dtype": str(a.dtype), "value": a.tolist()} for k, a in loose.items()}
    write_json(os.path.join(checkpointer.directory, FINAL_STATE), state)
    checkpointer.drop()


def checkpoint_from_model_file(run_dir, checkpointer):
    """Write a checkpoint from a finished run's ``model.keras`` and ``final-state.json``, to train it on.

    Returns:
        Whether one was written (``False`` when the run dir lacks either file).
    """
    state_file, model_file = os.path.join(checkpointer.directory, FINAL_STATE), os.path.join(run_dir, layout.MODEL_FILE)
    if not (os.path.isfile(state_file) and os.path.isfile(model_file)):
        return False
    state = read_json(state_file)
    model = layout.load_model(run_dir, float32=False)  # in the precision it trained in, optimizers built
    model.build_optimizers()
    named = training_variables(model)
    for key, saved in state.pop("loose_variables", {}).items():
        named[int(key)][1].assign(np.asarray(saved["value"], saved["dtype"]))
    position = Position(state["epoch"], state["step"])
    save_checkpoint(os.path.join(checkpointer.directory, generation_name(position)), model,
                    {k: v for k, v in state.items() if k != "variable_names"})
    return True


def worker_interval(every, strategy):
    """The checkpoint interval to use: ``every``, but for multi-worker runs a time interval becomes
    "epoch ends only" — reading the replicated state is a collective every worker must join at the
    same step, and clocks differ."""
    steps, seconds = parse_interval(every)
    if seconds and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "0"
    return every


def _fit_worker(config, strategy, overwrite):
    """A non-chief worker of a multi-worker run: the same training steps as the chief (collectives
    need every worker), with its checkpoints in a temporary directory, resuming from the chief's
    checkpoint when the chief does, and no other outputs."""
    pipeline, info = load_training_data(config, registry.model_class(config.model))
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, info.image_shape, strategy, info.num_classes)
    chief = Checkpointer(layout.checkpoint_dir(config.run_dir))
    with tempfile.TemporaryDirectory(prefix="kgen-worker-") as scratch:
        interval = worker_interval(config.checkpoint_every, strategy)
        checkpointer = Checkpointer(scratch, interval, keep=1)
        resume = not overwrite and bool(chief.files())
        if resume:  # the chief's checkpoints as they are: the same (newest intact) one is restored
            for path in chief.files():
                shutil.copy(path, scratch)
        history = EpochHistory(os.path.join(scratch, layout.HISTORY_FILE))
        Trainer(model, pipeline, [history], verbose=0, checkpointer=checkpointer, on_nan=config.on_nan,
                strategy=strategy).fit(config.epochs, resume=resume)
    return FitResult(config.run_dir, model, history.history, [])


def load_training_data(config, cls):
    """The training split's :class:`kgen.data.pipeline.EpochPipeline` and ``DataInfo`` for a config and
    model class; batches are ``(images, labels)`` for a conditional run.

    Raises:
        DataError: the data cannot be read, or a conditional run's data has no labels.
    """
    # A GAN with k critic steps takes k real batches per step (one per discriminator update).
    batch_size = config.batch_size * cls.real_batches_per_step(**config.model_options)
    pipeline, info = load_epochs(
        config.data, batch_size, cls.output_range, config.image_size, "train", config.seed,
        translate=config.translate, limit=config.limit, classes=config.classes, labels=config.conditional,
    )
    if config.conditional and info.num_classes < 2:
        raise DataError(f"{info.description} has {'no labels' if not info.has_labels else 'a single class'}: a "
                        "conditional model needs labelled data of at least 2 classes (e.g. IDX files with a labels "
                        "file, or a .npz with y_train).")
    return pipeline, info


def training_extractor(config, info):
    """The evaluator classifier for metrics during training, and a note for the user.

    Returns:
        ``(extractor, None)``, or ``(None, note)`` when metrics are off or there is no evaluator for
        this data (the note says how to get one; ``None`` for unlabelled data, which can have none).

    Raises:
        EvaluatorError: an evaluator given explicitly does not exist.
    """
    from kgen.evaluation.classifier import EvaluatorError, find_evaluator

    if not config.metrics_every and not config.metrics_at:
        return None, None
    try:
        return find_evaluator(config.data, config.evaluator), None
    except EvaluatorError as e:
        if config.evaluator:
            raise
        return None, (f"no metrics during training. {e}" if info.has_labels else None)


def hyperparameters(record):
    """The run's settings as TensorBoard HParams (scalars and strings only): the run settings, the
    model options, and the precision used."""
    values = {k: v for k, v in record.kgen_run.items()
              if k not in ("model_options", "run_dir", "metrics", "metrics_at", "classes", "evaluator")}
    values.update({f"model.{k}": v for k, v in record.model_config.items()
                   if k not in ("name", "trainable", "dtype", "image_shape")})
    values["precision_used"] = (record.precision or {}).get("precision")
    return {k: v if isinstance(v, (bool, int, float, str)) else json.dumps(v) for k, v in values.items()
            if v is not None}


def write_config_summary(logs_dir, record):
    """The run's record (settings, model config, data) as a TensorBoard text summary ``run_config`` and its
    settings as HParams (:func:`hyperparameters`), in the ``train`` run: TensorBoard's HParams dashboard
    then compares runs (e.g. a ``kgen compare`` study) by their settings and quality metrics."""
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(os.path.join(logs_dir, TRAIN_RUN))
    with writer.as_default():
        text = json.dumps({**dataclasses.asdict(record), "status": record.status.value}, indent=2, sort_keys=True)
        tf.summary.text("run_config", "```\n" + text + "\n```", step=0)
        hp.hparams(hyperparameters(record), trial_id=os.path.basename(os.path.dirname(logs_dir.rstrip(os.sep))))
    writer.close()


def save_model(model, path):
    """``model.save(path)`` atomically: write a temporary ``.keras`` beside it, then rename."""
    with atomic_path(path, suffix=".keras", needed=state_bytes(model)) as tmp:
        model.save(tmp)
