"""Keras callbacks kgen's training uses; each also works in a plain ``model.fit`` from Python."""

from __future__ import annotations

import contextlib
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgen import images, names
from kgen.files import write_json
from kgen.run.settings import SECONDS_BETWEEN_GRIDS

METRICS_SECONDS = "metrics_seconds"  # log entry: time spent on metrics during the epoch


TRAIN_RUN = "train"  # the TensorBoard run (sub-directory of logs/) of everything but the validation losses


class SummaryCallback(keras.callbacks.Callback):
    """Base of the callbacks that write their own TensorBoard summaries into the run's ``train``
    directory, beside Keras' own: TensorBoard shows one run per training (and ``validation``).

    Args:
        log_dir: TensorBoard directory (``None``: write nothing).
        run: sub-directory, shown by TensorBoard as the run's name.
    """

    def __init__(self, log_dir=None, run=TRAIN_RUN):
        super().__init__()
        self.log_dir, self.run = log_dir, run
        self._writer = None

    def on_train_begin(self, logs=None):
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.run))

    @contextlib.contextmanager
    def recording(self):
        """Context in which ``tf.summary`` calls go to this callback's writer (no-ops without ``log_dir``)."""
        if self._writer is None:
            with tf.summary.record_if(False):
                yield
            return
        # record_if(True): Keras' TensorBoard callback may leave its "every N steps" condition active.
        with self._writer.as_default(), tf.summary.record_if(True):
            yield
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None  # what is written after training goes to files only


class EpochGrid(SummaryCallback):
    """Base of the grids written at epoch ends: after the first and the last epoch of a training, and in
    between at most once per ``min_seconds`` (short epochs, e.g. of a few thousand images, would otherwise
    spend a large share of their time drawing). Subclasses implement :meth:`write`.

    Args:
        directory: where ``epoch_NNN.png`` files go.
        log_dir: TensorBoard directory (``None``: no image summaries).
        min_seconds: least wall-clock time between two grids, but for the first and the last.
    """

    def __init__(self, directory, log_dir=None, min_seconds=SECONDS_BETWEEN_GRIDS):
        super().__init__(log_dir)
        self.directory, self.min_seconds = directory, float(min_seconds)
        self.paths = []
        self._written_at = None

    def on_epoch_end(self, epoch, logs=None):
        last = self.model.stop_training or epoch + 1 >= self.params.get("epochs", epoch + 1)
        if not last and self._written_at is not None and time.monotonic() - self._written_at < self.min_seconds:
            return
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        self.write(path, epoch)
        self.paths.append(path)
        self._written_at = time.monotonic()

    def write(self, path, epoch):
        """Write the grid of the model now to ``path`` (and to TensorBoard at step ``epoch``)."""
        raise NotImplementedError

    def resume_state(self):
        """The grids written so far (for :class:`kgen.training.checkpoint.Checkpointer`)."""
        return list(self.paths)

    def restore_state(self, paths):
        self.paths = list(paths)


class SampleGrid(EpochGrid):
    """After epochs (:class:`EpochGrid` says which), decode a fixed latent batch and write the grid as PNG
    (and to TensorBoard).

    The same latent vectors are used every time, so the grids show how the same samples evolve. For
    a class-conditional model the grid has one row per class, ``n // num_classes`` images wide (at
    least one), and each column shares one latent vector: rows show the classes, columns the styles.

    Args:
        directory: where ``epoch_NNN.png`` files go.
        n: number of images in the grid (unconditional models).
        seed: seed of the fixed latent batch.
        log_dir: TensorBoard directory for an image summary ``samples`` at each grid's epoch (``None`` to skip).
        scale: integer upscaling of the PNG (small images are hard to see).
        min_seconds: as for :class:`EpochGrid`.
    """

    def __init__(self, directory, n=64, seed=0, log_dir=None, scale=2, min_seconds=SECONDS_BETWEEN_GRIDS):
        super().__init__(directory, log_dir, min_seconds)
        self.n, self.seed, self.scale = n, seed, scale
        self._z = self._labels = self._cols = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        classes = self.model.num_classes
        if not classes:
            self._z = self.model.latent_batch(self.n, seed=self.seed)
            return
        self._cols = max(1, self.n // classes)
        self._z, self._labels = self.model.class_rows_inputs(self._cols, seed=self.seed)

    def redraw_last(self):
        """Write the last grid again from latent vectors drawn anew from the model's prior (once a mixture prior
        was fitted to the trained model); the path written, or ``None`` when there is no grid to redraw."""
        if not self.paths or self.model.conditional:
            return None
        self._z = self.model.latent_batch(self.n, seed=self.seed)
        self.write(self.paths[-1], len(self.paths))
        return self.paths[-1]

    def write(self, path, epoch):
        fake = np.asarray(self.model.generate(self._z, self._labels, training=False), dtype="float32")
        grid = images.save_grid(path, fake, self.model.output_range, cols=self._cols, scale=self.scale)
        with self.recording():  # at the epoch's step, as Keras' epoch scalars
            tf.summary.image("samples", grid[None], step=epoch)


class ReconstructionGrid(EpochGrid):
    """After epochs (:class:`EpochGrid` says which), reconstruct fixed held-out images (VAE, VAE-GAN) and
    write the pairs as PNG (and to TensorBoard): rows alternate between originals and their reconstructions.

    Args:
        images: uint8 images ``[n, H, W, C]`` (e.g. the first test images).
        directory: where ``epoch_NNN.png`` files go.
        log_dir: TensorBoard directory for an image summary ``reconstructions`` (``None`` to skip).
        cols: images per row.
        scale: integer upscaling of the PNG.
        labels: the images' labels, for a class-conditional model (``None`` otherwise).
        min_seconds: as for :class:`EpochGrid`.
    """

    def __init__(self, images, directory, log_dir=None, cols=8, scale=2, labels=None,
                 min_seconds=SECONDS_BETWEEN_GRIDS):
        super().__init__(directory, log_dir, min_seconds)
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels, "int32")
        self.cols, self.scale = cols, scale

    def write(self, path, epoch):
        low, high = self.model.output_range
        originals = images.from_uint8(self.images, (low, high))
        reconstructed = images.to_uint8(self.model.reconstruct(originals, self.labels, training=False), (low, high))
        rows = [part for start in range(0, len(self.images), self.cols)
                for part in (self.images[start:start + self.cols], reconstructed[start:start + self.cols])]
        grid = images.write_grid(path, np.concatenate(rows), cols=self.cols, scale=self.scale)
        with self.recording():
            tf.summary.image("reconstructions", grid[None], step=epoch)


class TrainingClock(keras.callbacks.Callback):
    """Minutes of training: wall time since training began, without the time spent evaluating during
    training (:meth:`pause`), and with the time of the part before a resume.

    One clock is shared by the callbacks that need it (:class:`MetricsMonitor` pauses it,
    :class:`TimeBudget` reads it), so ``--max-minutes 10`` means ten minutes of training, and metrics
    "at 2 minutes" are taken after two minutes of training, whatever the evaluations cost.
    """

    def __init__(self):
        super().__init__()
        self._start = None
        self._paused = 0.0
        self._before = 0.0  # seconds of training before a resume

    def on_train_begin(self, logs=None):
        self.start()

    def start(self):
        """Start counting (once; later calls do nothing)."""
        if self._start is None:
            self._start = time.perf_counter()

    def seconds(self):
        """Seconds of training so far."""
        if self._start is None:
            return self._before
        return self._before + time.perf_counter() - self._start - self._paused

    def minutes(self):
        """Minutes of training so far."""
        return self.seconds() / 60.0

    @contextlib.contextmanager
    def pause(self):
        """Within the context, time does not count as training."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - start

    def resume_state(self):
        """Seconds of training so far (for :class:`kgen.training.checkpoint.Checkpointer`)."""
        return self.seconds()

    def restore_state(self, seconds):
        self._before, self._paused, self._start = float(seconds), 0.0, time.perf_counter()


class MetricsMonitor(SummaryCallback):
    """Score ``n`` generated images against the real data every ``every`` epochs and at given minutes of
    training, and add the epochs' values to their logs (so ``history.json``, the progress bar and
    TensorBoard's ``epoch_<name>`` get them), with the time they took as ``metrics_seconds``.

    The real-data features and the ceiling are computed once, at the start of training. TensorBoard
    gets ``quality/<name>`` at each evaluated epoch beside ``quality/<name>_real_data`` (the ceiling), and
    ``quality_by_step/<name>`` at each time point (its step is the training step). ``path`` receives the
    protocol, the ceiling, every epoch's values and the values at each time point (``"timed"``: minutes
    and step of training, and the metrics), each with its bootstrap interval (``"intervals"``:
    ``{name: [low, high]}``; ``"ceiling_intervals"`` for the ceiling): the curve of quality against
    training time. Evaluation time does not count as training (``clock`` is paused).

    Must come before the callbacks that read the logs (EpochHistory, TensorBoard).

    Args:
        extractor: a feature extractor (e.g. :class:`kgen.evaluation.classifier.ClassifierExtractor`).
        data: data spec of the real images.
        every: epochs between evaluations (0: none at epoch ends).
        n: generated images per evaluation (and ceiling images).
        metrics: names among ``fid``, ``is``, ``kid``, ``pr``; a class-conditional model also gets
            ``<extractor>_class_agreement`` (see :func:`kgen.evaluation.protocol.class_agreement`).
        seed: latent seed (the same images' latents every time).
        path: JSON file of the values (``None`` to skip).
        log_dir: TensorBoard directory for the ceiling run (``None`` to skip).
        at_minutes: minutes of training at which to evaluate too (e.g. ``(1, 2, 5, 10)``).
        clock: the run's :class:`TrainingClock` (needed with ``at_minutes``; a new one otherwise).
        replicates: bootstrap resamples of each interval (default
            :data:`kgen.evaluation.bootstrap.REPLICATES`; 0: none).
    """

    def __init__(self, extractor, data, every=1, n=2000, metrics=names.METRICS, seed=0, path=None,
                 log_dir=None, at_minutes=(), clock=None, replicates=None):
        from kgen.evaluation.bootstrap import REPLICATES

        super().__init__(log_dir)
        self.extractor, self.data, self.every, self.n, self.seed = extractor, data, every, n, seed
        self.replicates = REPLICATES if replicates is None else int(replicates)
        self.metrics, self.path = tuple(metrics), path
        self.at_minutes = sorted(float(m) for m in at_minutes)
        self.clock = clock or TrainingClock()
        self.prefix = extractor.name
        self.real = None
        self.record = {"epochs": [], "timed": []}
        self._seconds_in_epoch = 0.0

    def on_train_begin(self, logs=None):
        from kgen.evaluation.features import RealFeatures
        from kgen.evaluation.protocol import interval_protocol, score

        super().on_train_begin(logs)
        self.real = RealFeatures.load(self.extractor, self.data, self.model.image_shape[0], self.n, seed=self.seed)
        ceiling, ceiling_intervals = self._named(score(self.real.ceiling, self.real.reference, self.metrics, self.seed,
                                                       self.replicates))
        self.record.update({
            "protocol": {"extractor": self.extractor.describe(), "extractor_key": self.extractor.key,
                         "n_generated": self.n,
                         "reference": f"{self.real.reference.description}, {len(self.real.reference)} images",
                         "ceiling": self.real.ceiling.description, "every": self.every, "seed": self.seed,
                         "at_minutes": self.at_minutes, "intervals": interval_protocol(self.replicates)},
            "ceiling": ceiling,
            "ceiling_intervals": ceiling_intervals,
        })
        self.clock.start()

    def _named(self, scores):
        """``({<extractor>_<name>: value}, {<extractor>_<name>: interval})`` of :func:`score`'s result."""
        return ({f"{self.prefix}_{name}": entry["value"] for name, entry in scores.items()},
                {f"{self.prefix}_{name}": entry["interval"] for name, entry in scores.items()})

    def _measure(self):
        """The metric values of the model now and their intervals (the seconds they take are not counted
        as training)."""
        from kgen.evaluation.features import generated_features
        from kgen.evaluation.protocol import class_agreement, score

        start = time.perf_counter()
        with self.clock.pause():
            generated = generated_features(self.model, self.extractor, self.n, self.seed)
            values, intervals = self._named(score(generated, self.real.reference, self.metrics, self.seed,
                                                  self.replicates))
            agreement = class_agreement(self.model, self.extractor, generated)
            if agreement is not None:
                values[f"{self.prefix}_class_agreement"] = agreement["overall"]
        seconds = time.perf_counter() - start
        self._seconds_in_epoch += seconds
        return values, intervals

    def on_epoch_begin(self, epoch, logs=None):
        self._seconds_in_epoch = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self._score_due_time_point()

    def _score_due_time_point(self):
        """Score the next of ``at_minutes`` if that much training has passed."""
        done = len(self.record["timed"])
        if done == len(self.at_minutes) or self.clock.minutes() < self.at_minutes[done]:
            return
        values, intervals = self._measure()
        step = int(self.model.training_steps())
        self.record["timed"].append({"minutes": self.at_minutes[done], "step": step, **values, "intervals": intervals})
        self._write()
        with self.recording():
            for name, value in values.items():
                tf.summary.scalar(f"quality_by_step/{name}", value, step=step)

    def on_epoch_end(self, epoch, logs=None):
        if self.model is not None and self.model.stop_training:
            # A time budget stops training at the step that reaches it, possibly just after this
            # callback looked at the clock: the point at the budget's minute is still due.
            self._score_due_time_point()
        if self.every and (epoch + 1) % self.every == 0:
            values, intervals = self._measure()
            if logs is not None:
                logs.update(values)
            self.record["epochs"].append({"epoch": epoch + 1, **values, "intervals": intervals})
            self._write()
            with self.recording():
                for name, value in values.items():
                    tf.summary.scalar(f"quality/{name}", value, step=epoch)
                    if name in self.record["ceiling"]:
                        tf.summary.scalar(f"quality/{name}_real_data", self.record["ceiling"][name], step=epoch)
        if logs is not None and self._seconds_in_epoch:
            logs[METRICS_SECONDS] = self._seconds_in_epoch

    def _write(self):
        if self.path:
            write_json(self.path, self.record)

    def resume_state(self):
        """The values evaluated so far (for :class:`kgen.training.checkpoint.Checkpointer`)."""
        return {"epochs": self.record["epochs"], "timed": self.record["timed"]}

    def restore_state(self, state):
        if isinstance(state, list):  # checkpoints of kgen 0.1 held the epochs' values only
            state = {"epochs": state, "timed": []}
        self.record["epochs"], self.record["timed"] = list(state["epochs"]), list(state["timed"])


class RunTensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback, with kgen's tags: the losses as Keras writes them (``epoch_*`` in
    the ``train`` and ``validation`` runs, ``batch_*`` every ``update_freq`` steps), plus, in ``train``,
    every optimiser's learning rate (``learning_rate/<role>``) and the epoch's timings
    (``time/epoch_seconds`` of training, ``time/metrics_seconds`` of evaluation). Quality metrics are
    written by :class:`MetricsMonitor` (``quality/…``), so they are not written again as losses.

    With an integer ``update_freq``, Keras 3 leaves the last batch's "record every N steps" condition
    in force at the end of the epoch, so the epoch scalars (losses, validation, metrics) were dropped
    whenever the epoch's step count was not a multiple of N: the epoch's summaries are always written.
    """

    QUALITY_PREFIXES = ("classifier_", "inception_")

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        metrics_seconds = logs.pop(METRICS_SECONDS, 0.0)
        losses = {k: v for k, v in logs.items() if not k.startswith(self.QUALITY_PREFIXES)}
        with tf.summary.record_if(True):
            super().on_epoch_end(epoch, losses)
            with self._train_writer.as_default():
                for role in getattr(self.model, "optimizer_roles", {}):
                    rate = getattr(self.model, role).learning_rate
                    tf.summary.scalar(f"learning_rate/{role}", float(np.asarray(rate)), step=epoch)
                elapsed = time.perf_counter() - getattr(self, "_epoch_start", time.perf_counter())
                tf.summary.scalar("time/epoch_seconds", elapsed - metrics_seconds, step=epoch)
                tf.summary.scalar("time/metrics_seconds", metrics_seconds, step=epoch)

    def resume_state(self):
        """The global step count (for :class:`kgen.training.checkpoint.Checkpointer`): resumed per-step curves go on
        from where they stopped."""
        return int(self._global_train_batch)

    def restore_state(self, step):
        self._global_train_batch = int(step)


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` of training (``clock``: evaluations during training do not count)
    have passed, at the end of a step.

    Keras then finishes the epoch as usual (validation, end-of-epoch callbacks), so a budget-limited
    run has the same outputs as any other; ``stopped_early`` says whether the budget ended it.
    """

    def __init__(self, minutes, clock=None):
        super().__init__()
        self.seconds = float(minutes) * 60.0
        self.clock = clock or TrainingClock()
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self.clock.start()

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.seconds() >= self.seconds:
            self.model.stop_training = True
            self.stopped_early = True


class BudgetProgress(keras.callbacks.Callback):
    """Progress of a run bounded by a time budget, instead of Keras' "Epoch 1/100000": minutes of training
    done of the budget, steps, images per second, the time left and the latest losses.

    On a terminal (``interactive``) one line is rewritten about once a second; in logs a line is printed
    after each whole minute of training and at the end of each epoch.

    Args:
        minutes: the budget.
        clock: the run's :class:`TrainingClock`.
        images_per_step: real images one step takes (batch size × the model's batches per step).
        stream: where to write (default: ``sys.stdout``).
        interactive: rewrite one line (default: whether ``stream`` is a terminal).
    """

    MIN_STEPS = 5  # a rate is shown once measured over this many steps; until then the previous one

    def __init__(self, minutes, clock, images_per_step, stream=None, interactive=None):
        super().__init__()
        import sys

        self.minutes, self.clock, self.images_per_step = float(minutes), clock, int(images_per_step)
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._steps = 0
        self._last_print = -1.0  # wall seconds of the last terminal update
        self._minutes_printed = 0
        self._window = None  # (training seconds, steps) where the current measurement of the rate began
        self._rate = 0.0  # images/s of the last measurement of at least MIN_STEPS steps

    def line(self, logs=None):
        """The progress line as it stands."""
        done, steps = self.clock.minutes(), self._steps
        if self._window is not None and steps - self._window[1] >= self.MIN_STEPS:
            seconds = 60.0 * done - self._window[0]
            self._rate = (steps - self._window[1]) * self.images_per_step / max(seconds, 1e-9)
        rate = self._rate
        losses = "  ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items()
                           if not k.startswith(("val_", "classifier_", "inception_")) and k != "metrics_seconds")
        return (f"{min(done, self.minutes):5.1f} of {self.minutes:g} min · step {steps:,} · {rate:,.0f} images/s · "
                f"{max(self.minutes - done, 0.0):4.1f} min left" + (f" · {losses}" if losses else ""))

    def on_epoch_begin(self, epoch, logs=None):
        # not at train begin: a resumed run's checkpoint is restored after the callbacks' on_train_begin
        self._steps = int(self.model.training_steps())

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        now = time.perf_counter()
        if self._window is None:  # from the end of an epoch's first step: its start-up is not a step's cost
            self._window = (60.0 * self.clock.minutes(), self._steps)  # training time: evaluations pause it
        if self.interactive:
            if now - self._last_print >= 1.0:
                self._last_print = now
                self.stream.write("\r" + self.line(logs).ljust(100))
                self.stream.flush()
        elif int(self.clock.minutes()) > self._minutes_printed:
            self._minutes_printed = int(self.clock.minutes())
            self._write(self.line(logs))

    def on_epoch_end(self, epoch, logs=None):
        extra = "  ".join(f"{k} {float(v):.4g}" for k, v in (logs or {}).items()
                          if k.startswith(("val_", "classifier_", "inception_")))
        self._write(f"epoch {epoch + 1} done: " + self.line(logs) + (f" · {extra}" if extra else ""))
        self._window = None  # images/s of the next epoch, without the work between epochs

    def _write(self, text):
        self.stream.write(("\r" + text.ljust(100) + "\n") if self.interactive else text + "\n")
        self.stream.flush()


class EpochHistory(keras.callbacks.Callback):
    """Record each epoch's logs and wall time, and rewrite ``history.json`` after every epoch.

    ``epoch_seconds`` is the time of training and validation: the time of the metrics computed by a
    :class:`MetricsMonitor` (``metrics_seconds`` in the logs) is recorded apart, not included.

    Args:
        path: JSON file written atomically after each epoch: ``{"epoch_seconds": [...], name: [...]}``.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.history = {"epoch_seconds": []}
        self._start = None
        self._resumed_seconds = 0.0  # time of the part of the epoch done before a resume

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start + self._resumed_seconds
        self._start, self._resumed_seconds = None, 0.0
        self.history["epoch_seconds"].append(elapsed - (logs or {}).get(METRICS_SECONDS, 0.0))
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        write_json(self.path, self.history)

    def resume_state(self):
        """The history of the finished epochs and the time of the current one so far (for
        :class:`kgen.training.checkpoint.Checkpointer`)."""
        in_epoch = time.perf_counter() - self._start if self._start is not None else 0.0
        return {"history": self.history, "epoch_seconds_so_far": in_epoch + self._resumed_seconds}

    def restore_state(self, state):
        self.history = {name: list(values) for name, values in state["history"].items()}
        self._resumed_seconds = float(state["epoch_seconds_so_far"])
