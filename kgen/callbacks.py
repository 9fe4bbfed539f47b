"""Keras callbacks kgen's training uses; each also works in a plain ``model.fit`` from Python."""

from __future__ import annotations

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from kgen import images


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, decode a fixed latent batch and write the grid as PNG (and to TensorBoard).

    The same latent vectors are used every epoch, so the grids show how the same samples evolve.

    Args:
        directory: where ``epoch_NNN.png`` files go.
        n: number of images in the grid.
        seed: seed of the fixed latent batch.
        log_dir: TensorBoard directory for an image summary ``samples`` (``None`` to skip).
        scale: integer upscaling of the PNG (small images are hard to see).
    """

    def __init__(self, directory, n=64, seed=0, log_dir=None, scale=2):
        super().__init__()
        self.directory, self.n, self.seed, self.scale = directory, n, seed, scale
        self.log_dir = log_dir
        self._z = None
        self._writer = None
        self.paths = []

    def on_train_begin(self, logs=None):
        self._z = self.model.latent_batch(self.n, seed=self.seed)
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        fake = np.asarray(self.model.generate(self._z, training=False), dtype="float32")
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        grid = images.save_grid(path, fake, self.model.output_range, scale=self.scale)
        self.paths.append(path)
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class ReconstructionGrid(keras.callbacks.Callback):
    """After every epoch, reconstruct fixed held-out images (VAE, VAE-GAN) and write the pairs as PNG
    (and to TensorBoard): rows alternate between originals and their reconstructions.

    Args:
        images: uint8 images ``[n, H, W, C]`` (e.g. the first test images).
        directory: where ``epoch_NNN.png`` files go.
        log_dir: TensorBoard directory for an image summary ``reconstructions`` (``None`` to skip).
        cols: images per row.
        scale: integer upscaling of the PNG.
    """

    def __init__(self, images, directory, log_dir=None, cols=8, scale=2):
        super().__init__()
        self.images = np.asarray(images)
        self.directory, self.log_dir, self.cols, self.scale = directory, log_dir, cols, scale
        self._writer = None
        self.paths = []

    def on_train_begin(self, logs=None):
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "reconstructions"))

    def on_epoch_end(self, epoch, logs=None):
        low, high = self.model.output_range
        originals = images.from_uint8(self.images, (low, high))
        reconstructed = images.to_uint8(self.model.reconstruct(originals, training=False), (low, high))
        rows = [part for start in range(0, len(self.images), self.cols)
                for part in (self.images[start:start + self.cols], reconstructed[start:start + self.cols])]
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        grid = images.write_grid(path, np.concatenate(rows), cols=self.cols, scale=self.scale)
        self.paths.append(path)
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("reconstructions", grid[None], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class MetricsMonitor(keras.callbacks.Callback):
    """Every ``every`` epochs, score ``n`` generated images against the real data and add the values to
    the epoch's logs (so ``history.json``, the progress bar and TensorBoard's ``epoch_<name>`` get them).

    The real-data features and the ceiling are computed once, at the start of training; the ceiling
    is written to TensorBoard under the same tags in the run ``ceiling``, so each curve shows its
    real-data line. ``path`` receives the protocol, the ceiling and every epoch's values.

    Must come before the callbacks that read the logs (EpochHistory, TensorBoard).

    Args:
        extractor: a feature extractor (e.g. :class:`kgen.evaluation.classifier.ClassifierExtractor`).
        data: data spec of the real images.
        every: epochs between evaluations.
        n: generated images per evaluation (and ceiling images).
        metrics: names among ``fid``, ``is``, ``kid``, ``pr``.
        seed: latent seed (the same images' latents every time).
        path: JSON file of the values (``None`` to skip).
        log_dir: TensorBoard directory for the ceiling run (``None`` to skip).
    """

    def __init__(self, extractor, data, every=1, n=2000, metrics=("fid", "is", "kid", "pr"), seed=0, path=None,
                 log_dir=None):
        super().__init__()
        self.extractor, self.data, self.every, self.n, self.seed = extractor, data, every, n, seed
        self.metrics, self.path, self.log_dir = tuple(metrics), path, log_dir
        self.prefix = extractor.name
        self.real = None
        self.record = {}
        self._writer = None

    def on_train_begin(self, logs=None):
        from kgen.evaluation.evaluate import RealFeatures, score

        self.real = RealFeatures.load(self.extractor, self.data, self.model.image_shape[0], self.n, seed=self.seed)
        ceiling = {f"{self.prefix}_{k}": v["value"] for k, v in score(self.real.ceiling, self.real.reference, self.metrics, self.seed).items()}
        self.record = {
            "protocol": {"extractor": self.extractor.describe(), "n_generated": self.n,
                         "reference": f"{self.real.reference.description}, {len(self.real.reference)} images",
                         "ceiling": self.real.ceiling.description, "every": self.every, "seed": self.seed},
            "ceiling": ceiling,
            "epochs": [],
        }
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "ceiling"))

    def on_epoch_end(self, epoch, logs=None):
        from kgen.evaluation.evaluate import generated_features, score

        if (epoch + 1) % self.every:
            return
        generated = generated_features(self.model, self.extractor, self.n, self.seed)
        values = {f"{self.prefix}_{k}": v["value"] for k, v in score(generated, self.real.reference, self.metrics, self.seed).items()}
        if logs is not None:
            logs.update(values)
        self.record["epochs"].append({"epoch": epoch + 1, **values})
        if self.path:
            write_json(self.path, self.record)
        if self._writer is not None:
            with self._writer.as_default():
                for name, value in self.record["ceiling"].items():
                    tf.summary.scalar(f"epoch_{name}", value, step=epoch)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()


class EpochHistory(keras.callbacks.Callback):
    """Record each epoch's logs and wall time, and rewrite ``history.json`` after every epoch.

    Args:
        path: JSON file written atomically after each epoch: ``{"epoch_seconds": [...], name: [...]}``.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.history = {"epoch_seconds": []}
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.history["epoch_seconds"].append(time.perf_counter() - self._start)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(float(value))
        write_json(self.path, self.history)


def write_json(path, data):
    """Write ``data`` as indented JSON atomically (temp file + rename)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
