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
import tensorflow as tf

from kgen import registry, runs
from kgen.callbacks import (EpochHistory, MetricsMonitor, ReconstructionGrid, SampleGrid, TensorBoard, TimeBudget,
                            write_json)
from kgen.checkpoint import read_state
from kgen.config import RunConfig, parse_interval
from kgen.data import DataError, NoSplitError, load_dataset, load_epochs
from kgen.distribute import is_chief, make_strategy, precision_policy
from kgen.evaluation.evaluate import held_out_examples, parse_metrics
from kgen.loop import Checkpointer, DivergenceError, TrainingInterrupted, train
from kgen.models.base import AutoencodingModel
from kgen.plots import plot_history


class RunDirError(ValueError):
    """The run directory cannot be used (it holds an earlier run and overwriting was not asked)."""


@dataclasses.dataclass
class FitResult:
    """What a finished ``fit`` produced.

    Attributes:
        run_dir: the run directory.
        model: the trained model.
        history: ``{name: [value per epoch]}`` including ``epoch_seconds``.
        grid_paths: PNG sample grid of each epoch.
    """

    run_dir: str
    model: keras.Model
    history: dict
    grid_paths: list


def default_run_dir(config, root=runs.DEFAULT_ROOT):
    """``saved_models/<model>-<arch>-<YYYYmmdd-HHMMSS>``."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(root, f"{config.model}-{config.arch or 'default'}-{stamp}")


def build_model(config, image_shape, strategy=None, num_classes=0):
    """The model a config asks for, on images of ``image_shape``, compiled with its optimizers (each
    wrapped for loss scaling under ``mixed_float16``) and with their state built.

    Args:
        config: the run settings (model, architecture, sizes, optimiser, ``precision``, ``conditional``).
        image_shape: ``(H, W, C)``.
        strategy: the ``tf.distribute`` strategy whose scope holds the variables (default: none).
        num_classes: the data's number of classes (used when ``config.conditional``).
    """
    cls = registry.model_class(config.model)
    with (strategy or tf.distribute.get_strategy()).scope(), precision_policy(config.precision):
        model = cls(
            image_shape=image_shape,
            latent_dim=config.latent_dim,
            arch=config.arch,
            width=config.width,
            seed=config.seed,
            num_classes=num_classes if config.conditional else 0,
            **config.model_options,
        )
        learning_rate = config.learning_rate or cls.default_learning_rate
        beta_1 = cls.default_beta_1 if config.beta_1 is None else config.beta_1
        optimizers = {}
        for role in cls.optimizer_roles:
            optimizer = registry.make_optimizer(config.optimizer, learning_rate, beta_1)
            if config.precision == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizers[role] = optimizer
        model.compile(**optimizers, jit_compile=config.jit_compile)
        model.build_optimizers()
    return model


# Settings that may change when a run is resumed: how long it trains and how it is watched over.
RESUMABLE_SETTINGS = ("epochs", "max_minutes", "checkpoint_every", "on_nan", "deterministic", "run_dir", "strategy")


def resume_or_start(config, overwrite=False):
    """Decide what ``fit`` does with ``config.run_dir``: start a new run or resume the one there.

    Returns:
        The earlier run's record (``config.json``) to resume, or ``None`` to start (the directory is
        then empty or new; with ``overwrite`` an earlier run is deleted).

    Raises:
        RunDirError: the directory holds something that must not be overwritten silently: files that
            are not a kgen run, a run with other settings, a finished run, or a run without a
            checkpoint whose model would be lost.
    """
    path = config.run_dir
    if os.path.exists(path) and not os.path.isdir(path):
        raise RunDirError(f"Run dir {path} exists and is a file: expected a directory.")
    if not os.path.isdir(path) or not os.listdir(path):
        return None
    if overwrite:
        shutil.rmtree(path)
        return None
    record_path = os.path.join(path, runs.CONFIG_FILE)
    if not os.path.isfile(record_path):
        raise RunDirError(f"{path} is not empty and holds no kgen run: choose another --run-dir.")
    with open(record_path) as f:
        record = json.load(f)
    # Settings added to kgen after the run was recorded take their defaults.
    earlier = {**RunConfig().to_dict(), **record.get("kgen_run", {})}
    changed = sorted(k for k, v in config.to_dict().items() if k not in RESUMABLE_SETTINGS and earlier.get(k) != v)
    if changed:
        details = "; ".join(f"{k}: {earlier.get(k)!r} there, {getattr(config, k)!r} now" for k in changed)
        raise RunDirError(f"Run dir {path} holds a run with other settings ({details}): give its settings to "
                          "resume it, choose another --run-dir, or pass --overwrite to replace it.")
    done = record.get("epochs_completed", 0)
    budget_spent = record.get("stopped") and config.max_minutes == earlier.get("max_minutes")
    if record.get("status") == "finished" and (done >= config.epochs or budget_spent):
        raise RunDirError(f"Run dir {path} already holds a finished run of {done} epoch(s): pass a larger --epochs "
                          "(or --max-minutes) to train on, or --overwrite to start over.")
    if not os.path.isfile(runs.checkpoint_path(path)):
        if os.path.isfile(os.path.join(path, runs.MODEL_FILE)):
            raise RunDirError(f"Run dir {path} holds a model but no checkpoint to resume from: pass --overwrite to "
                              "start over, or choose another --run-dir.")
        shutil.rmtree(path)  # it stopped before its first checkpoint: nothing to keep
        return None
    return record


def fit(config, overwrite=False, verbose=None, callbacks=()):
    """Train the model a :class:`RunConfig` describes and write its run directory; resume the run
    already there.

    Everything that can be checked is checked before the run dir is created, so bad input leaves
    nothing behind. The run dir receives ``config.json`` (the settings, the model's full config, the
    data description and the run's status), a sample grid per epoch in ``samples/``,
    ``history.json`` after every epoch, TensorBoard logs in ``logs/``, the full training state in
    ``checkpoint/state.npz`` (every ``config.checkpoint_every`` and after every epoch), and at the end
    ``model.keras`` and ``losses.png``.

    If ``config.run_dir`` holds an unfinished run of the same settings (only ``epochs``,
    ``max_minutes``, ``checkpoint_every``, ``on_nan`` and ``deterministic`` may differ), training
    resumes from its checkpoint; with op determinism on it ends with the same weights as an
    uninterrupted run. SIGINT / SIGTERM save a checkpoint and raise :class:`kgen.loop.TrainingInterrupted`;
    a NaN or infinite loss raises :class:`kgen.loop.DivergenceError` (``model.keras`` then holds the
    last good checkpoint), unless ``config.on_nan`` is ``"rollback"``.

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
        >>> result = fit(RunConfig(model="gan", arch="dcgan", data="fashion_mnist", epochs=1))  # doctest: +SKIP
        >>> result.grid_paths[-1]
        'saved_models/gan-dcgan-…/samples/epoch_001.png'
    """
    cls = registry.model_class(config.model)  # fail fast on unknown names, before loading data
    config = dataclasses.replace(config, arch=cls.resolve_arch(config.arch),
                                 metrics=list(parse_metrics(",".join(config.metrics))))
    strategy = make_strategy(config.strategy)  # first: multi-worker collectives need it before other TF work
    chief = is_chief(strategy)
    run_dir = config.run_dir or default_run_dir(config)
    config = dataclasses.replace(config, run_dir=run_dir)
    if not chief:  # other workers train alongside the chief but write nothing into the run dir
        return _fit_worker(config, strategy, overwrite)

    pipeline, info = load_training_data(config, cls)
    validation = None
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if multi_worker and verbose != 0:
        print("note: multi-worker training: no validation pass, and checkpoints at epoch ends and step intervals "
              "only (every worker must take them at the same steps).", file=sys.stderr)
    if config.validate and not multi_worker:
        try:
            validation, _ = load_dataset(
                config.data, config.batch_size, cls.output_range, info.image_shape[0], "test", config.seed,
                shuffle=False, translate=config.translate, classes=config.classes, labels=config.conditional,
            )
        except NoSplitError:
            validation = None  # e.g. an image folder: train without validation
    extractor, note = training_extractor(config, info)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, info.image_shape, strategy, info.num_classes)

    earlier = resume_or_start(config, overwrite)
    os.makedirs(run_dir, exist_ok=True)
    record = {
        "kgen_run": config.to_dict(),
        "model_config": model.get_config(),
        "data": dataclasses.asdict(info),
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "status": "running",
        "evaluator": extractor.directory if extractor else None,
    }
    if earlier is not None:
        record["started"] = earlier.get("started", record["started"])
        record["resumed"] = earlier.get("resumed", []) + [datetime.datetime.now().isoformat(timespec="seconds")]
    config_path = os.path.join(run_dir, runs.CONFIG_FILE)
    write_json(config_path, record)

    logs_dir = os.path.join(run_dir, runs.LOGS_DIR)
    if earlier is None:
        write_config_summary(logs_dir, record)
    grid = SampleGrid(os.path.join(run_dir, runs.SAMPLES_DIR), n=config.grid_size, seed=config.seed, log_dir=logs_dir)
    history = EpochHistory(os.path.join(run_dir, runs.HISTORY_FILE))
    tensorboard = TensorBoard(log_dir=logs_dir, update_freq=config.log_every, write_graph=False)
    kgen_callbacks = [history, grid, tensorboard]
    if extractor is not None:  # first: it adds the metric values to the logs the others read
        kgen_callbacks.insert(0, MetricsMonitor(extractor, config.data, config.metrics_every, config.metrics_n,
                                                metrics=config.metrics, seed=config.seed,
                                                path=os.path.join(run_dir, runs.METRICS_FILE), log_dir=logs_dir))
    if isinstance(model, AutoencodingModel):
        held_out, held_out_labels = held_out_examples(config.data, info.image_shape[0], 32)
        kgen_callbacks.insert(-1, ReconstructionGrid(held_out, os.path.join(run_dir, runs.RECONSTRUCTIONS_DIR),
                                                     log_dir=logs_dir,
                                                     labels=held_out_labels if model.conditional else None))
    budget = TimeBudget(config.max_minutes) if config.max_minutes else None
    if budget is not None:
        kgen_callbacks.append(budget)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if note and verbose:
        print(f"note: {note}", file=sys.stderr)
    checkpointer = Checkpointer(runs.checkpoint_path(run_dir), worker_interval(config.checkpoint_every, strategy))
    if earlier is not None and verbose:
        state = read_state(checkpointer.path)
        print(f"Resuming {run_dir} from its checkpoint: epoch {state['epoch'] + 1}, step {state['step']}.",
              file=sys.stderr)
    keep_model = True
    try:
        rollbacks = train(model, pipeline, config.epochs, [*kgen_callbacks, *callbacks], validation=validation,
                          verbose=verbose, checkpointer=checkpointer, resume=earlier is not None, on_nan=config.on_nan,
                          strategy=strategy)
        record["status"] = "finished"
        if rollbacks:
            record["rollbacks"] = rollbacks
        if budget is not None and budget.stopped_early:
            record["stopped"] = f"time budget of {config.max_minutes:g} minutes"
    except TrainingInterrupted as e:
        record["status"] = f"interrupted ({e.signal_name})"
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: the checkpoint stays the state to resume from
        record["status"] = "interrupted"
        raise
    except DivergenceError as e:
        record["status"] = f"diverged: {e}"
        keep_model = checkpointer.saved is not None
        if keep_model:
            checkpointer.restore(model)  # model.keras gets the last good state, not the NaN weights
        raise
    except Exception as e:
        record["status"] = f"failed: {type(e).__name__}: {e}"
        keep_model = False
        raise
    finally:
        if keep_model and checkpointer.saved is not None and (checkpointer.saved.epoch or checkpointer.saved.step):
            save_model(model, os.path.join(run_dir, runs.MODEL_FILE))
        if history.history["epoch_seconds"]:
            plot_history(history.history, os.path.join(run_dir, runs.LOSSES_FILE),
                         title=f"{config.model}/{config.arch}")
        record["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        record["epochs_completed"] = len(history.history["epoch_seconds"])
        write_json(config_path, record)
    return FitResult(run_dir, model, history.history, grid.paths)


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
    chief_checkpoint = runs.checkpoint_path(config.run_dir)
    with tempfile.TemporaryDirectory(prefix="kgen-worker-") as scratch:
        interval = worker_interval(config.checkpoint_every, strategy)
        checkpointer = Checkpointer(os.path.join(scratch, "state.npz"), interval)
        resume = not overwrite and os.path.isfile(chief_checkpoint)
        if resume:
            shutil.copy(chief_checkpoint, checkpointer.path)
        history = EpochHistory(os.path.join(scratch, runs.HISTORY_FILE))
        train(model, pipeline, config.epochs, [history], verbose=0, checkpointer=checkpointer, resume=resume,
              on_nan=config.on_nan, strategy=strategy)
    return FitResult(config.run_dir, model, history.history, [])


def load_training_data(config, cls):
    """The training split's :class:`kgen.data.pipeline.EpochPipeline` and ``DataInfo`` for a config and
    model class; batches are ``(images, labels)`` for a conditional run.

    Raises:
        DataError: the data cannot be read, or a conditional run's data has no labels.
    """
    pipeline, info = load_epochs(
        config.data, config.batch_size, cls.output_range, config.image_size, "train", config.seed,
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

    if not config.metrics_every:
        return None, None
    try:
        return find_evaluator(config.data, config.evaluator), None
    except EvaluatorError as e:
        if config.evaluator:
            raise
        return None, (f"no metrics during training. {e}" if info.has_labels else None)


def write_config_summary(logs_dir, record):
    """The run's record (settings, model config, data) as a TensorBoard text summary ``run_config``."""
    writer = tf.summary.create_file_writer(os.path.join(logs_dir, "config"))
    with writer.as_default():
        tf.summary.text("run_config", "```\n" + json.dumps(record, indent=2, sort_keys=True) + "\n```", step=0)
    writer.close()


def save_model(model, path):
    """``model.save(path)`` atomically: write a temporary ``.keras`` beside it, then rename."""
    tmp = os.path.join(os.path.dirname(path), f".tmp-{os.getpid()}-{os.path.basename(path)}")
    model.save(tmp)
    os.replace(tmp, path)
