"""TensorBoard event files: summaries written outside training (a study's final metrics and its HParams
experiment), and reading back the scalars, images and texts a run wrote, per TensorBoard run.

Reading is used by the tests (to check what ``kgen fit`` logs) and by reports that plot a run's curves.

Example:
    >>> events = read_events("saved_models/dcgan/logs")  # doctest: +SKIP
    >>> events["train"].scalars["epoch_d_loss"]
    [(0, 0.91), (1, 0.87)]
"""

from __future__ import annotations

import collections
import dataclasses
import os

import tensorflow as tf
from tensorflow.core.util import event_pb2


@dataclasses.dataclass
class RunEvents:
    """The summaries of one TensorBoard run (one directory of event files).

    Attributes:
        scalars: ``{tag: [(step, value), ...]}`` in file order.
        images: ``{tag: [(step, (height, width)), ...]}``.
        texts: ``{tag: [(step, text), ...]}``.
        plugins: ``{tag: plugin name}`` of every summary, e.g. ``{"_hparams_/session_start_info": "hparams"}``.
    """

    scalars: dict = dataclasses.field(default_factory=lambda: collections.defaultdict(list))
    images: dict = dataclasses.field(default_factory=lambda: collections.defaultdict(list))
    texts: dict = dataclasses.field(default_factory=lambda: collections.defaultdict(list))
    plugins: dict = dataclasses.field(default_factory=dict)


def write_scalars(log_dir, values, step=0):
    """Write ``{tag: value}`` as scalar summaries into the TensorBoard run directory ``log_dir``."""
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        for tag, value in values.items():
            tf.summary.scalar(tag, float(value), step=step)
    writer.close()


def write_hparams_experiment(log_dir, hparams, metrics):
    """Declare a study for TensorBoard's HParams dashboard: the settings that vary between its runs
    (``{name: [values]}``) and the metric tags to show beside them (``{tag: title}``)."""
    from tensorboard.plugins.hparams import api as hp

    domains = [hp.HParam(name, hp.Discrete(sorted(set(values), key=str))) for name, values in hparams.items()]
    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        hp.hparams_config(hparams=domains,
                          metrics=[hp.Metric(tag, display_name=title) for tag, title in metrics.items()])
    writer.close()


def read_events(log_dir):
    """All summaries under ``log_dir``, keyed by run (the sub-directory holding the event files,
    e.g. ``train``, ``validation``, ``samples``; ``.`` for files directly in ``log_dir``).

    Returns:
        ``{run: RunEvents}``.
    """
    runs = {}
    for directory, _, files in sorted(os.walk(log_dir)):
        event_files = sorted(f for f in files if ".tfevents." in f)
        if not event_files:
            continue
        events = runs.setdefault(os.path.relpath(directory, log_dir), RunEvents())
        plugins = {}  # the plugin of a tag is recorded with its first value only
        for name in event_files:
            for record in tf.data.TFRecordDataset(os.path.join(directory, name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    _add(events, plugins, event.step, value)
    return runs


def _add(events, plugins, step, value):
    if value.metadata.plugin_data.plugin_name:
        plugins[value.tag] = value.metadata.plugin_data.plugin_name
        events.plugins[value.tag] = plugins[value.tag]
    plugin = plugins.get(value.tag)
    if value.HasField("simple_value"):  # TF1-style scalars
        events.scalars[value.tag].append((step, float(value.simple_value)))
    elif plugin == "scalars":
        events.scalars[value.tag].append((step, float(tf.make_ndarray(value.tensor))))
    elif plugin == "images":
        width, height = (int(v) for v in tf.make_ndarray(value.tensor)[:2])
        events.images[value.tag].append((step, (height, width)))
    elif plugin == "text":
        events.texts[value.tag].append((step, tf.make_ndarray(value.tensor).item().decode()))
