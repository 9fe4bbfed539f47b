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
