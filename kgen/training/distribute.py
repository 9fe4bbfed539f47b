"""Where and how training runs: tf.distribute strategies and Keras mixed-precision policies.

``kgen fit --strategy NAME`` picks one of TensorFlow's strategies (one device, several GPUs, several
hosts described by ``TF_CONFIG``, a TPU); ``--precision`` picks the dtype policy the networks are
built with. Both go through the model's own ``train_step`` in :func:`kgen.loop.train`.
"""

from __future__ import annotations

import contextlib
import json
import os

import tensorflow as tf

from kgen.models.runtime import global_dtype_policy
from kgen.names import PRECISIONS, STRATEGIES


class StrategyError(ValueError):
    """A strategy that cannot be set up here; the message says why and what would work."""


def cluster_spec():
    """The cluster described by ``TF_CONFIG`` (``{"worker": [...], ...}``), or ``{}`` if it is unset.

    Raises:
        StrategyError: ``TF_CONFIG`` is not valid JSON with a ``cluster``.
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        return {}
    try:
        return dict(json.loads(text)["cluster"])
    except (ValueError, KeyError, TypeError):
        raise StrategyError(f"TF_CONFIG must be JSON with a 'cluster' (and a 'task'); got {text[:80]!r}.") from None


def make_strategy(name="auto"):
    """The ``tf.distribute`` strategy called ``name``.

    ``auto``: several hosts when ``TF_CONFIG`` describes more than one task, a TPU when
    ``TPU_NAME`` is set, all GPUs when there are several, else TensorFlow's default strategy (one
    device, no overhead). Multi-worker strategies must be made before other TensorFlow work.

    Raises:
        StrategyError: unknown name, or a strategy this machine cannot run (no TF_CONFIG for
            ``multi_worker``, no TPU for ``tpu``).
    """
    if name not in STRATEGIES:
        raise StrategyError(f"Unknown strategy {name!r}: expected one of {', '.join(STRATEGIES)}.")
    # Physical, not logical, devices: listing logical ones starts TensorFlow's runtime, after which a
    # multi-worker strategy can no longer be set up.
    gpus = [f"/gpu:{i}" for i in range(len(tf.config.list_physical_devices("GPU")))]
    if name == "auto":
        tasks = sum(len(v) for v in cluster_spec().values())
        if tasks > 1:
            name = "multi_worker"
        elif os.environ.get("TPU_NAME"):
            name = "tpu"
        elif len(gpus) > 1:
            name = "mirrored"
        else:
            return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0] if gpus else "/cpu:0")
    if name == "mirrored":
        devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        if not cluster_spec():
            raise StrategyError("--strategy multi_worker needs TF_CONFIG describing the cluster and this task "
                                '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": '
                                '"worker", "index": 0}}).')
        return tf.distribute.MultiWorkerMirroredStrategy()
    try:  # tpu
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=os.environ.get("TPU_NAME", ""))
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as e:
        raise StrategyError(f"No TPU found ({' '.join(str(e).split())[:160]}): --strategy tpu runs on a TPU VM "
                            "or with TPU_NAME set.") from None
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy):
    """Whether this process writes the run's outputs: always, but for a multi-worker run's non-chief
    workers (the chief is task ``chief``, or worker 0 when the cluster has no chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in cluster_spec()


def distribute_dataset(strategy, dataset):
    """``dataset`` (of global batches) split across ``strategy``'s replicas; as is for TensorFlow's
    default strategy (call it outside any strategy scope)."""
    if strategy is tf.distribute.get_strategy():
        return dataset
    options = tf.data.Options()
    # Batches come from an in-memory cache, not files: shard each global batch between the workers.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


@contextlib.contextmanager
def precision_policy(name):
    """Build layers under the Keras dtype policy ``name`` (``float32``, ``mixed_float16`` or
    ``mixed_bfloat16``), restoring the previous global policy afterwards.

    Raises:
        ValueError: unknown name.
    """
    concrete = [p for p in PRECISIONS if p != "auto"]
    if name not in concrete:
        raise ValueError(f"Unknown precision {name!r}: expected one of {', '.join(concrete)} "
                         "(resolve auto with kgen.hardware.resolve_precision first).")
    with global_dtype_policy(name):
        yield
