"""What a model's code asks about where it runs: the replicas of a distribution strategy (each takes its
slice of one global draw of noise), and the Keras dtype policy its networks are built under."""

from __future__ import annotations

import contextlib
import contextvars

import keras
import tensorflow as tf


@contextlib.contextmanager
def global_dtype_policy(policy):
    """Within the context, new layers get the Keras dtype policy ``policy`` (a name or a policy)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


_FLOAT32_NETWORKS = contextvars.ContextVar("kgen_float32_networks", default=False)


@contextlib.contextmanager
def float32_networks():
    """Within the context, kgen models made from a config — as ``keras.saving.load_model`` makes them —
    build their networks in float32, whatever dtype policy they were trained under.

    Mixed precision keeps float32 weights and only computes in 16 bits; loading under this context gives
    the images those weights define in float32 (``kgen.run.layout.load_model`` loads so for sampling,
    evaluation and export). A user's own sub-network keeps the policy it was made with.
    """
    token = _FLOAT32_NETWORKS.set(True)
    try:
        yield
    finally:
        _FLOAT32_NETWORKS.reset(token)


def loading_float32_networks():
    """Whether models made from a config now build float32 networks (see :func:`float32_networks`)."""
    return _FLOAT32_NETWORKS.get()


def num_replicas():
    """Replicas training in sync: 1 without a distribution strategy."""
    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


def replica_slice(global_values, batch):
    """This replica's ``batch`` rows of values drawn for the whole global batch (all of them without a
    distribution strategy)."""
    replicas = num_replicas()
    if replicas == 1:
        return global_values
    start = tf.distribute.get_replica_context().replica_id_in_sync_group * batch
    return global_values[start:start + batch]
