"""What a model's code asks about where it runs: the replicas of a distribution strategy (each takes its
slice of one global draw of noise), and the Keras dtype policy its networks are built under."""

from __future__ import annotations

import contextlib

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
