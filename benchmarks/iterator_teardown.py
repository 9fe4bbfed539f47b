"""How long the end of an epoch waits for tf.data, with and without autotuning.

    .venv/bin/python benchmarks/iterator_teardown.py [--epochs 4] [--seconds 3,7,12]

Builds kgen's epoch pipeline over 60,000 random 28×28 images at batch 128, then, for each epoch
length in ``--seconds``, draws batches while doing a matrix product per batch (standing in for a
training step) for that long and times the deletion of the iterator — what the training loop does
at every epoch's end. Prints one JSON line per epoch: autotuning on (tf.data's default) or off (what
kgen's pipelines use), the seconds of work and the seconds the deletion blocked.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgen.data.pipeline import load_epochs  # noqa: E402


def with_autotuning(dataset, enabled):
    """``dataset`` with tf.data's autotuning switched on or off."""
    options = tf.data.Options()
    options.autotune.enabled = enabled
    return dataset.with_options(options)


def timed_epoch(dataset, seconds, work):
    """Draw batches for ``seconds`` (one ``work()`` per batch), then delete the iterator.

    Returns:
        ``(seconds worked, seconds the deletion blocked)``.
    """
    start = time.perf_counter()
    iterator = iter(dataset)
    while time.perf_counter() - start < seconds:
        next(iterator)
        work()
    worked = time.perf_counter() - start
    del iterator
    return worked, time.perf_counter() - start - worked


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=4, help="Epochs per setting and length.")
    parser.add_argument("--seconds", default="3,7,12", help="Comma-separated epoch lengths in seconds.")
    args = parser.parse_args()
    matrix = tf.random.normal((2048, 2048))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "images.npz")
        np.savez(path, x=np.random.RandomState(0).randint(0, 256, (60_000, 28, 28), dtype=np.uint8))
        pipeline, _ = load_epochs(path, batch_size=128)
        for number in range(args.epochs):
            for seconds in (float(s) for s in args.seconds.split(",")):
                for enabled in (True, False):
                    dataset = with_autotuning(pipeline.epoch(number), enabled)
                    worked, blocked = timed_epoch(dataset, seconds, lambda: tf.matmul(matrix, matrix).numpy())
                    print(json.dumps({"autotune": enabled, "worked_s": round(worked, 2),
                                      "deletion_blocked_s": round(blocked, 3)}), flush=True)


if __name__ == "__main__":
    main()
