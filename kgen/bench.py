"""Throughput measurements that print numbers (speed is checked by benchmarks, not unit tests)."""

from __future__ import annotations

import statistics
import time

import numpy as np
import tensorflow as tf


def savedmodel_sampling_throughput(path, batch_sizes=(1, 64, 1024), min_seconds=2.0, warmup=2):
    """Images per second of an exported model's ``serving_default`` signature (z → uint8 images).

    For each batch size: ``warmup`` untimed calls, then timed calls until ``min_seconds`` have passed
    (at least 3); the median call time gives the throughput.

    Args:
        path: SavedModel version directory written by ``kgen export``.
        batch_sizes: batch sizes to measure.
        min_seconds: minimum timed duration per batch size.
        warmup: untimed calls first.

    Returns:
        A list of dicts ``{"batch": b, "images_per_s": …, "ms_per_call": …, "calls": k}``.
    """
    signature = tf.saved_model.load(path).signatures["serving_default"]
    latent = signature.structured_input_signature[1]["z"].shape[-1]
    results = []
    for batch in batch_sizes:
        z = tf.constant(np.random.RandomState(0).normal(size=(batch, latent)).astype("float32"))
        for _ in range(warmup):
            signature(z=z)["images"].numpy()
        times = []
        start = time.perf_counter()
        while len(times) < 3 or time.perf_counter() - start < min_seconds:
            t0 = time.perf_counter()
            signature(z=z)["images"].numpy()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        results.append({"batch": batch, "images_per_s": batch / median, "ms_per_call": 1000 * median, "calls": len(times)})
    return results
