"""Throughput measurements that print numbers (speed is checked by benchmarks, not unit tests)."""

from __future__ import annotations

import math
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from kgen.data.pipeline import PREFETCH_BATCHES, without_autotuning


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
        results.append({"batch": batch, "images_per_s": batch / median, "ms_per_call": 1000 * median,
                        "calls": len(times)})
    return results


def matmul_peak(n=4096, seconds=3.0, dtype="float32"):
    """This machine's matrix-multiplication throughput in GFLOP/s for ``dtype`` (the reference "peak").

    Multiplies two random ``n``×``n`` matrices of ``dtype`` (``float32``, ``bfloat16`` or ``float16``)
    repeatedly for about ``seconds`` after a warm-up and returns the rate of the fastest product
    (2·n³ FLOPs each). The fastest, not the median, because on a shared machine other tenants only ever
    slow a product down: the best one is the closest to what the cores can do. At n = 4096 oneDNN runs
    close to the cores' limit; smaller products give lower and noisier numbers.
    """
    a = tf.cast(tf.random.stateless_normal((n, n), seed=(0, 1)), dtype)
    b = tf.cast(tf.random.stateless_normal((n, n), seed=(0, 2)), dtype)
    product = tf.function(lambda x, y: tf.matmul(x, y))
    product(a, b).numpy()
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        product(a, b).numpy()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / min(times) / 1e9


def compute_dtype(precision):
    """The dtype a Keras policy computes in: ``bfloat16`` for ``mixed_bfloat16``, and so on."""
    return {"mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}.get(precision, "float32")


def peak_memory_mb():
    """The peak resident memory of this process so far, in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def random_batches(model, batch_size):
    """An endless prefetched dataset of random image batches in the model's output range (8 distinct batches)."""
    low, high = model.output_range
    images = np.random.RandomState(0).uniform(low, high, (batch_size * 8, *model.image_shape)).astype("float32")
    batches = tf.data.Dataset.from_tensor_slices(images).batch(batch_size, drop_remainder=True).repeat()
    return without_autotuning(batches.prefetch(PREFETCH_BATCHES))


def run_compiled_steps(model, iterator, count):
    """Run ``count`` of the model's compiled training steps (as ``kgen fit`` does) and wait for the
    last one by reading its first loss. Returns that step's logs."""
    for _ in range(count):
        logs = model.train_function(iterator)
    float(next(iter(logs.values())))
    return logs


def training_throughput(model, batch_size=128, steps=30, repeats=3, warmup=5, use_fit=False, min_seconds=1.0):
    """Training speed of a compiled kgen model on random images of its shape.

    By default it runs the model's compiled training step (``model.make_train_function``), as
    ``kgen fit`` does: ``warmup`` times (at least once: the first call compiles it), then
    ``repeats`` timed repeats of at least ``steps`` steps, each ended by reading the last step's
    losses. While the first repeat takes less than ``min_seconds``, it is dropped and repeated with
    more steps, and every repeat runs as many: a few milliseconds of a small MLP are too noisy to
    compare. With ``use_fit`` each repeat is one ``model.fit`` of that many steps instead (Keras' own
    loop, as users write it).

    Returns:
        ``{"images_per_s", "ms_per_step", "ms_per_step_all": [...], "steps": steps per repeat}``
        (medians over the repeats).

    Example:
        >>> training_throughput(model, batch_size=128, steps=30, repeats=3)["images_per_s"]  # doctest: +SKIP
    """
    batches = random_batches(model, batch_size)
    if use_fit:
        def run_steps(count):
            model.fit(batches, epochs=1, steps_per_epoch=count, shuffle=False, verbose=0)
    else:
        iterator = iter(batches)
        model.make_train_function()

        def run_steps(count):
            run_compiled_steps(model, iterator, count)

    def seconds_per_step(count):
        start = time.perf_counter()
        run_steps(count)
        return (time.perf_counter() - start) / count

    run_steps(max(warmup, 1))
    first = seconds_per_step(steps)
    # Too short to time: lengthen the repeats and drop this one. A loop, because a per-call cost (e.g.
    # fit's setup) makes short repeats overstate the time per step.
    while first * steps < min_seconds:
        steps = max(steps + 1, math.ceil(min_seconds / first))
        first = seconds_per_step(steps)
    times = [first] + [seconds_per_step(steps) for _ in range(repeats - 1)]
    ms = statistics.median(times) * 1000
    return {"images_per_s": batch_size / (ms / 1000), "ms_per_step": ms, "ms_per_step_all": [t * 1000 for t in times],
            "steps": steps}


def use_plain_dropout_masks(model):
    """Make every kgen dropout layer of a not yet traced model draw one float per unit, as Keras'
    Dropout does (the baseline of kgen's cheap bit masks). Returns the number of layers changed."""
    from kgen.models.networks import ReplicaDropout

    def walk(layer):
        yield layer
        for child in getattr(layer, "layers", ()):
            yield from walk(child)

    changed = 0
    for layer in walk(model):
        if isinstance(layer, ReplicaDropout):
            layer.cheap_masks = False
            changed += 1
    return changed


def use_keras_adam(model):
    """Replace every :class:`kgen.models.fused_adam.FusedAdam` of a compiled, not yet traced model by Keras'
    own Adam with the same settings (the baseline of kgen's fused update). Returns the number replaced."""
    from kgen.models.fused_adam import FusedAdam

    replaced = 0
    for role in model.optimizer_roles:
        optimizer = getattr(model, role)
        if isinstance(optimizer, FusedAdam):
            setattr(model, role, keras.optimizers.Adam.from_config(optimizer.get_config()))
            replaced += 1
    model.build_optimizers()
    return replaced


def profile_training(model, batch_size=128, steps=10, logdir=None):
    """Where a training step's time goes: TensorFlow's profiler over ``steps`` compiled steps.

    Args:
        model: a compiled kgen model (warmed up or not: one untimed step runs first).
        batch_size: images per step.
        steps: profiled steps.
        logdir: where the trace is kept (viewable with TensorBoard's profile plugin); a temporary
            directory when None.

    Returns:
        A list of ``{"op_type", "ms_per_step", "share"}`` sorted by time: each TensorFlow op type's
        self time summed over the threads that ran it, per step, and its share of all busy time.
        The sum over op types exceeds the step's wall time when ops run in parallel.

    Raises:
        RuntimeError: this TensorFlow build has no profiler converter.
    """
    import collections
    import glob
    import json
    import tempfile

    try:
        from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as converter
    except ImportError as error:  # the converter is internal to TensorFlow and may move
        raise RuntimeError(f"This TensorFlow has no profile converter ({error}); cannot profile.") from None

    iterator = iter(random_batches(model, batch_size))
    model.make_train_function()
    run_compiled_steps(model, iterator, 1)
    with tempfile.TemporaryDirectory() as scratch:
        logdir = logdir or scratch
        tf.profiler.experimental.start(logdir)
        run_compiled_steps(model, iterator, steps)
        tf.profiler.experimental.stop()
        traces = sorted(glob.glob(f"{logdir}/plugins/profile/*/*.xplane.pb"))[-1:]
        data, ok = converter.xspace_to_tools_data(traces, "framework_op_stats", {})
    if not ok:
        raise RuntimeError(f"The profile could not be read: {data[:200]!r}")
    table = json.loads(data)[0]
    columns = [column["id"] for column in table["cols"]]
    totals = collections.Counter()
    for row in table["rows"]:
        record = dict(zip(columns, [cell["v"] if cell else None for cell in row["c"]]))
        if record["type"] != "IDLE":
            totals[record["type"]] += record["total_self_time"]  # microseconds over all steps
    busy = sum(totals.values())
    return [{"op_type": op, "ms_per_step": micros / steps / 1000, "share": micros / busy}
            for op, micros in totals.most_common()]
