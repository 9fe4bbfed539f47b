"""Keras callbacks kgen's training uses; each also works in a plain ``model.fit`` from Python."""

from __future__ import annotations

import contextlib
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgen import images

METRICS_SECONDS = "metrics_seconds"  # log entry: time spent on metrics during the epoch


class SummaryCallback(keras.callbacks.Callback):
    """Base of the callbacks that write their own TensorBoard summaries into one run of ``log_dir``.

    Args:
        log_dir: TensorBoard directory (``None``: write nothing).
        run: sub-directory, shown by TensorBoard as the run's name.
    """

    def __init__(self, log_dir=None, run="samples"):
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


class SampleGrid(SummaryCallback):
    """After every epoch, decode a fixed latent batch and write the grid as PNG (and to TensorBoard).

    The same latent vectors are used every epoch, so the grids show how the same samples evolve. For
    a class-conditional model the grid has one row per class, ``n // num_classes`` images wide (at
    least one), and each column shares one latent vector: rows show the classes, columns the styles.

    Args:
        directory: where ``epoch_NNN.png`` files go.
        n: number of images in the grid (unconditional models).
        seed: seed of the fixed latent batch.
        log_dir: TensorBoard directory for an image summary ``samples`` (``None`` to skip).
        scale: integer upscaling of the PNG (small images are hard to see).
    """

    def __init__(self, directory, n=64, seed=0, log_dir=None, scale=2):
        super().__init__(log_dir, "samples")
        self.directory, self.n, self.seed, self.scale = directory, n, seed, scale
        self._z = self._labels = self._cols = None
        self.paths = []

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        classes = self.model.num_classes
        if not classes:
            self._z = self.model.latent_batch(self.n, seed=self.seed)
            return
        self._cols = max(1, self.n // classes)
        self._z, self._labels = self.model.class_rows_inputs(self._cols, seed=self.seed)

    def on_epoch_end(self, epoch, logs=None):
        fake = np.asarray(self.model.generate(self._z, self._labels, training=False), dtype="float32")
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        grid = images.save_grid(path, fake, self.model.output_range, cols=self._cols, scale=self.scale)
        self.paths.append(path)
        with self.recording():
            tf.summary.image("samples", grid[None], step=epoch + 1)

    def resume_state(self):
        """The grids written so far (for :class:`kgen.loop.Checkpointer`)."""
        return list(self.paths)

    def restore_state(self, paths):
        self.paths = list(paths)


class ReconstructionGrid(SummaryCallback):
    """After every epoch, reconstruct fixed held-out images (VAE, VAE-GAN) and write the pairs as PNG
    (and to TensorBoard): rows alternate between originals and their reconstructions.

    Args:
        images: uint8 images ``[n, H, W, C]`` (e.g. the first test images).
        directory: where ``epoch_NNN.png`` files go.
        log_dir: TensorBoard directory for an image summary ``reconstructions`` (``None`` to skip).
        cols: images per row.
        scale: integer upscaling of the PNG.
        labels: the images' labels, for a class-conditional model (``None`` otherwise).
    """

    def __init__(self, images, directory, log_dir=None, cols=8, scale=2, labels=None):
        super().__init__(log_dir, "reconstructions")
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels, "int32")
        self.directory, self.cols, self.scale = directory, cols, scale
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        low, high = self.model.output_range
        originals = images.from_uint8(self.images, (low, high))
        reconstructed = images.to_uint8(self.model.reconstruct(originals, self.labels, training=False), (low, high))
        rows = [part for start in range(0, len(self.images), self.cols)
                for part in (self.images[start:start + self.cols], reconstructed[start:start + self.cols])]
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        grid = images.write_grid(path, np.concatenate(rows), cols=self.cols, scale=self.scale)
        self.paths.append(path)
        with self.recording():
            tf.summary.image("reconstructions", grid[None], step=epoch + 1)

    resume_state, restore_state = SampleGrid.resume_state, SampleGrid.restore_state


class MetricsMonitor(SummaryCallback):
    """Every ``every`` epochs, score ``n`` generated images against the real data and add the values to
    the epoch's logs (so ``history.json``, the progress bar and TensorBoard's ``epoch_<name>`` get them),
    with the time they took as ``metrics_seconds``.

    The real-data features and the ceiling are computed once, at the start of training; the ceiling
    is written to TensorBoard under the same tags in the run ``ceiling``, so each curve shows its
    real-data line. ``path`` receives the protocol, the ceiling and every epoch's values.

    Must come before the callbacks that read the logs (EpochHistory, TensorBoard).

    Args:
        extractor: a feature extractor (e.g. :class:`kgen.evaluation.classifier.ClassifierExtractor`).
        data: data spec of the real images.
        every: epochs between evaluations.
        n: generated images per evaluation (and ceiling images).
        metrics: names among ``fid``, ``is``, ``kid``, ``pr``; a class-conditional model also gets
            ``<extractor>_class_agreement`` (see :func:`kgen.evaluation.evaluate.class_agreement`).
        seed: latent seed (the same images' latents every time).
        path: JSON file of the values (``None`` to skip).
        log_dir: TensorBoard directory for the ceiling run (``None`` to skip).
    """

    def __init__(self, extractor, data, every=1, n=2000, metrics=("fid", "is", "kid", "pr"), seed=0, path=None,
                 log_dir=None):
        super().__init__(log_dir, "ceiling")
        self.extractor, self.data, self.every, self.n, self.seed = extractor, data, every, n, seed
        self.metrics, self.path = tuple(metrics), path
        self.prefix = extractor.name
        self.real = None
        self.record = {}

    def on_train_begin(self, logs=None):
        from kgen.evaluation.evaluate import RealFeatures, score

        super().on_train_begin(logs)
        self.real = RealFeatures.load(self.extractor, self.data, self.model.image_shape[0], self.n, seed=self.seed)
        ceiling = self._named(score(self.real.ceiling, self.real.reference, self.metrics, self.seed))
        self.record = {
            "protocol": {"extractor": self.extractor.describe(), "n_generated": self.n,
                         "reference": f"{self.real.reference.description}, {len(self.real.reference)} images",
                         "ceiling": self.real.ceiling.description, "every": self.every, "seed": self.seed},
            "ceiling": ceiling,
            "epochs": [],
        }

    def _named(self, scores):
        return {f"{self.prefix}_{name}": entry["value"] for name, entry in scores.items()}

    def on_epoch_end(self, epoch, logs=None):
        from kgen.evaluation.evaluate import class_agreement, generated_features, score

        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        generated = generated_features(self.model, self.extractor, self.n, self.seed)
        values = self._named(score(generated, self.real.reference, self.metrics, self.seed))
        agreement = class_agreement(self.model, self.extractor, generated)
        if agreement is not None:
            values[f"{self.prefix}_class_agreement"] = agreement["overall"]
        if logs is not None:
            logs.update(values)
            logs[METRICS_SECONDS] = time.perf_counter() - start
        self.record["epochs"].append({"epoch": epoch + 1, **values})
        if self.path:
            write_json(self.path, self.record)
        with self.recording():
            for name, value in self.record["ceiling"].items():
                tf.summary.scalar(f"epoch_{name}", value, step=epoch)

    def resume_state(self):
        """The values of the epochs evaluated so far (for :class:`kgen.loop.Checkpointer`)."""
        return self.record["epochs"]

    def restore_state(self, epochs):
        self.record["epochs"] = list(epochs)


class TensorBoard(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback that always writes the epoch summaries.

    With an integer ``update_freq``, Keras 3 leaves the last batch's "record every N steps" condition
    in force at the end of the epoch, so the epoch scalars (losses, validation, metrics) were dropped
    whenever the epoch's step count was not a multiple of N.
    """

    def on_epoch_end(self, epoch, logs=None):
        with tf.summary.record_if(True):
            super().on_epoch_end(epoch, logs)

    def resume_state(self):
        """The global step count (for :class:`kgen.loop.Checkpointer`): resumed per-step curves go on
        from where they stopped."""
        return int(self._global_train_batch)

    def restore_state(self, step):
        self._global_train_batch = int(step)


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``minutes`` of training have passed, at the end of a step.

    Keras then finishes the epoch as usual (validation, end-of-epoch callbacks), so a budget-limited
    run has the same outputs as any other; ``stopped_early`` says whether the budget ended it.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = float(minutes) * 60.0
        self.stopped_early = False
        self._start = None

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start >= self.seconds:
            self.model.stop_training = True
            self.stopped_early = True

    def resume_state(self):
        """Seconds of training so far (for :class:`kgen.loop.Checkpointer`): a resumed run's budget counts them."""
        return time.perf_counter() - self._start

    def restore_state(self, seconds):
        self._start = time.perf_counter() - float(seconds)


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
        :class:`kgen.loop.Checkpointer`)."""
        in_epoch = time.perf_counter() - self._start if self._start is not None else 0.0
        return {"history": self.history, "epoch_seconds_so_far": in_epoch + self._resumed_seconds}

    def restore_state(self, state):
        self.history = {name: list(values) for name, values in state["history"].items()}
        self._resumed_seconds = float(state["epoch_seconds_so_far"])


def write_json(path, data):
    """Write ``data`` as indented JSON atomically (temp file + rename), creating the directory if needed."""
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
