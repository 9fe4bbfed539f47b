"""kgen's evaluator classifier: a small CNN trained on a labelled dataset, whose penultimate features
and logits stand in for InceptionV3's in FID / KID / precision-recall / IS ("classifier metrics").

It works offline and is fast on a CPU, and on MNIST-like data it sees what matters there (an
ImageNet network sees 28×28 garments upsampled to 299×299).

Evaluators are pinned, as TF-GAN's MNIST classifier and torch-fidelity's Inception weights are:

* kgen ships the evaluators of ``mnist`` and ``fashion_mnist`` inside the package
  (``kgen/evaluation/evaluators/<data>/``), so every machine scores with the same weights;
  ``scripts/train_shipped_evaluators.sh`` re-creates them bit for bit (op determinism, fixed seeds).
* Every evaluator is a weights file and a record (``evaluator.json``) holding the file's sha256, which
  is checked on load; reports name the evaluator by that hash.
* An evaluator is trained on the first part of the training split only; the rest (the *held-out*
  images, up to 10,000) is never seen, so the real-data ceiling can be scored on images the
  classifier never saw, as the generated ones are. The images it saw are recorded by content
  (``seen_images.npy``: a digest of each, see :mod:`kgen.data.content`), so "never seen" holds for any
  copy of the data, in any order, and for other data that shares images with it.

``kgen evaluator fit`` trains one for other data, saved under ``saved_models/evaluators/<data key>/``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

from kgen.data import load_dataset
from kgen.evaluation.extractor import FeatureExtractor
from kgen.files import atomic_path, write_json
from kgen.hardware import machine_description

EVALUATORS_ROOT = os.path.join("saved_models", "evaluators")
SHIPPED_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evaluators")
SHIPPED_DATA = ("mnist", "fashion_mnist")  # datasets whose evaluator ships with kgen
WEIGHTS_FILE = "classifier.weights.h5"
RECORD_FILE = "evaluator.json"
SEEN_FILE = "seen_images.npy"  # sorted uint64 digests of the images the evaluator trained on
ARCHITECTURE = "kgen-evaluator-1"  # build_classifier with its defaults; a new network gets a new name
FEATURES_LAYER = "features"
LOGITS_LAYER = "logits"
MAX_HELD_OUT = 10_000


class EvaluatorError(ValueError):
    """No usable evaluator classifier (missing, altered, or trained for other images); the message says
    how to get one."""


def data_key(spec):
    """The directory name of a data spec's evaluator: the dataset name, or for a path its base name
    plus a short hash of the absolute path (two folders called ``images`` must not collide)."""
    spec = str(spec)
    if not os.path.exists(spec):
        return spec
    path = os.path.abspath(spec)
    base = os.path.splitext(os.path.basename(path.rstrip(os.sep)))[0] or "data"
    return f"{base}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


def evaluator_dir(spec, root=EVALUATORS_ROOT):
    """Where ``kgen evaluator fit`` saves the evaluator of data spec ``spec`` by default."""
    return os.path.join(root, data_key(spec))


def shipped_evaluator_dir(spec):
    """The directory of the evaluator kgen ships for ``spec`` (``mnist``, ``fashion_mnist``), or ``None``."""
    return os.path.join(SHIPPED_ROOT, str(spec)) if str(spec) in SHIPPED_DATA else None


def file_sha256(path):
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_held_out(num_train):
    """How many training images an evaluator leaves out: a sixth of them, at most 10,000 (Fashion-MNIST
    and MNIST: the last 10,000 of 60,000)."""
    return min(MAX_HELD_OUT, int(num_train) // 6)


def build_classifier(image_shape, num_classes, width=32, dropout=0.3):
    """The evaluator CNN: two blocks of two 3×3 convolutions (batch-norm, ReLU) with max-pooling,
    a 128-unit ReLU layer named ``features`` and a linear layer named ``logits``.

    Args:
        image_shape: ``(H, W, C)``; inputs are floats in [0, 1].
        num_classes: number of classes.
        width: filters of the first block (the second has twice as many).
        dropout: dropout rate before the features and before the logits.

    Returns:
        An uncompiled functional ``keras.Model`` (images → logits).
    """
    # Every layer is named: the names are stored in the weights file, whose hash must not depend on how
    # many layers the process made before (Keras numbers unnamed layers per process).
    inputs = keras.Input(tuple(image_shape), name="images")
    x = inputs
    for block, filters in enumerate((width, 2 * width), 1):
        for conv in (1, 2):
            name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(keras.layers.Dropout(dropout, name="dropout_1")(x))
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    # The logits layer is made before its dropout layer: each draws its random seed when it is made, and
    # this order is the one the shipped evaluators were trained with (their hashes depend on it).
    logits_layer = keras.layers.Dense(num_classes, name=LOGITS_LAYER)
    logits = logits_layer(keras.layers.Dropout(dropout, name="dropout_2")(features))
    return keras.Model(inputs, logits, name="kgen_evaluator")


@dataclasses.dataclass
class EvaluatorRecord:
    """What ``evaluator.json`` says about a trained evaluator.

    Attributes:
        data: the data spec it was trained on.
        image_shape: its input shape.
        num_classes: number of classes.
        test_accuracy: accuracy on the data's test split.
        epochs: training epochs.
        trained: ISO date of training.
        sha256: hash of the weights file (checked on load; reports name the evaluator by it).
        train_examples: it was trained on the first ``train_examples`` images of the training split …
        held_out: … and never saw the ``held_out`` images after them (the ceiling's images).
        architecture: the network (:data:`ARCHITECTURE`).
        seed, batch_size, translate: training settings.
        command: the command that trains it again.
        software: the TensorFlow and Keras versions it was trained with.
        machine: the processor and instruction sets it was trained on (the command gives the same
            file again on such a machine with the same software).
        data_fingerprint: the content fingerprint of the training split it was trained on
            (:class:`kgen.data.content.SplitContent`).
        seen_sha256: the sha256 of ``seen_images.npy``, the digests of the images it trained on
            (empty for an evaluator of kgen 0.2, which recorded their positions only).
    """

    data: str
    image_shape: list
    num_classes: int
    test_accuracy: float
    epochs: int
    trained: str
    sha256: str
    train_examples: int
    held_out: int
    architecture: str = ARCHITECTURE
    seed: int = 0
    batch_size: int = 128
    translate: float = 0.05
    command: str = ""
    software: str = ""
    machine: str = ""
    data_fingerprint: str = ""
    seen_sha256: str = ""


def train_evaluator(data, epochs=12, batch_size=128, seed=0, directory=None, translate=0.05, verbose=2,
                    held_out=None):
    """Train the evaluator classifier on a labelled dataset, deterministically, and save its weights
    with a record holding their sha256 and its test accuracy.

    Op determinism is turned on (for the rest of the process: TensorFlow cannot turn it off again) and
    every seed is fixed, so the same call on the same machine and software writes a byte-identical
    weights file.

    Args:
        data: data spec with labels and a test split (e.g. ``"fashion_mnist"``).
        epochs: training epochs.
        batch_size: images per step.
        seed: seed of weights, shuffling and augmentation.
        directory: where to save (default :func:`evaluator_dir` of ``data``).
        translate: random-shift augmentation (fraction of the image size).
        verbose: Keras progress (0, 1 or 2).
        held_out: training images left out at the end of the split for the ceiling (default
            :func:`default_held_out`).

    Returns:
        ``(directory, EvaluatorRecord)``.

    Raises:
        DataError: the data cannot be read; EvaluatorError: it has no labels, no test split, or too
        few images to hold some out.

    Example:
        >>> path, record = train_evaluator("fashion_mnist")  # doctest: +SKIP
        >>> record.test_accuracy, record.sha256[:12]
        (0.92…, '…')
    """
    from kgen.data import NoSplitError, sources
    from kgen.data.content import split_content

    num_train = sources.resolve(data, "train").num_examples
    held_out = default_held_out(num_train) if held_out is None else int(held_out)
    if not 0 <= held_out < num_train:
        raise EvaluatorError(f"held_out must be between 0 and {num_train - 1} (the training images); got {held_out}.")
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    train, info = load_dataset(data, batch_size, (0.0, 1.0), None, "train", seed, translate=translate, labels=True,
                               limit=num_train - held_out)
    if not info.has_labels:
        raise EvaluatorError(f"{info.description} has no labels: the evaluator classifier needs a labelled dataset.")
    try:
        test, _ = load_dataset(data, 500, (0.0, 1.0), info.image_shape[0], "test", seed, shuffle=False,
                               labels=True, drop_remainder=False)
    except NoSplitError:
        raise EvaluatorError(f"{info.description} has no test split to measure the evaluator's accuracy on.") from None
    num_classes = info.num_classes  # largest training label + 1
    model = build_classifier(info.image_shape, num_classes)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * info.steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(train, epochs=epochs, validation_data=test, shuffle=False, verbose=verbose)  # shuffled by the pipeline
    _, accuracy = model.evaluate(test, verbose=0)

    directory = directory or evaluator_dir(data)
    os.makedirs(directory, exist_ok=True)
    weights = os.path.join(directory, WEIGHTS_FILE)
    # The weights of an uncompiled copy: the optimizer's state is not needed to score images, and its
    # per-process name ("adam_1") would change the file's hash.
    network = build_classifier(info.image_shape, num_classes)
    network.set_weights(model.get_weights())
    with atomic_path(weights, suffix=".weights.h5") as tmp:
        network.save_weights(tmp)
    train_content = split_content(data, "train")
    seen_sha256 = write_seen_images(directory, train_content.digests[:num_train - held_out])
    command = f"kgen evaluator fit --data {data} --epochs {epochs} --batch-size {batch_size} --seed {seed}"
    record = EvaluatorRecord(str(data), list(info.image_shape), num_classes, float(accuracy), epochs,
                             datetime.date.today().isoformat(), file_sha256(weights), num_train - held_out, held_out,
                             seed=seed, batch_size=batch_size, translate=translate, command=command,
                             software=f"tensorflow {tf.__version__}, keras {keras.__version__}",
                             machine=machine_description(), data_fingerprint=train_content.fingerprint,
                             seen_sha256=seen_sha256)
    write_json(os.path.join(directory, RECORD_FILE), dataclasses.asdict(record))
    return directory, record


def write_seen_images(directory, digests):
    """Write the digests of the images an evaluator trained on (sorted) as ``seen_images.npy`` in
    ``directory``; returns the file's sha256."""
    path = os.path.join(directory, SEEN_FILE)
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, np.sort(np.asarray(digests, dtype=np.uint64)))
    return file_sha256(path)


class ClassifierExtractor(FeatureExtractor):
    """Features (the ``features`` layer) and logits of a trained evaluator classifier.

    Args:
        directory: an evaluator directory written by :func:`train_evaluator`.
        batch_size: images per forward pass.

    Raises:
        EvaluatorError: no evaluator there, one from an older kgen, or weights whose sha256 is not the
            recorded one.

    Attributes:
        name: ``"classifier"``.
        record: its :class:`EvaluatorRecord`.
        key: ``classifier-<first 12 hex digits of the sha256>``: names the exact weights in reports and
            in the feature cache.
        shipped: whether it is one of the evaluators kgen ships.
    """

    name = "classifier"

    def __init__(self, directory, batch_size=500):
        weights_file, record_file = os.path.join(directory, WEIGHTS_FILE), os.path.join(directory, RECORD_FILE)
        if not os.path.isfile(record_file):
            raise EvaluatorError(f"{directory} holds no evaluator classifier ({WEIGHTS_FILE} and {RECORD_FILE}).")
        with open(record_file) as f:
            values = json.load(f)
        if not os.path.isfile(weights_file) or "sha256" not in values:
            raise EvaluatorError(f"{directory} holds an evaluator of an older kgen (without a pinned hash or held-out "
                                 f"images): train it again with `kgen evaluator fit --data {values.get('data', '…')}`.")
        known = {f.name for f in dataclasses.fields(EvaluatorRecord)}
        self.record = EvaluatorRecord(**{k: v for k, v in values.items() if k in known})
        found = file_sha256(weights_file)
        if found != self.record.sha256:
            raise EvaluatorError(f"The evaluator weights {weights_file} have sha256 {found[:12]}…, not the recorded "
                                 f"{self.record.sha256[:12]}…: the file was changed. Re-create it with "
                                 f"`{self.record.command or 'kgen evaluator fit'}`.")
        self.seen = self._read_seen(directory)
        self.directory = directory
        self.shipped = os.path.dirname(os.path.abspath(directory)) == SHIPPED_ROOT
        self.key = f"classifier-{self.record.sha256[:12]}"
        self.batch_size = batch_size
        self.image_shape = tuple(self.record.image_shape)
        classifier = build_classifier(self.image_shape, self.record.num_classes)
        classifier.load_weights(weights_file)
        self._network = keras.Model(classifier.inputs,
                                    [classifier.get_layer(FEATURES_LAYER).output, classifier.output])
        self._features_and_logits = tf.function(self._classify, reduce_retracing=True)

    def describe(self):
        """One line for reports: which evaluator (by hash), trained on what, how accurate."""
        where = "shipped with kgen" if self.shipped else self.directory
        return (f"kgen evaluator classifier sha256:{self.record.sha256[:12]} ({where}; trained on {self.record.data}, "
                f"test accuracy {100 * self.record.test_accuracy:.2f} %; 128-d features, softmax of "
                f"{self.record.num_classes} classes)")

    def identity(self):
        """What a run records about the evaluator it was scored with (see :func:`recorded_evaluator`)."""
        return {"sha256": self.record.sha256, "data": self.record.data,
                "directory": None if self.shipped else os.path.abspath(self.directory)}

    def _read_seen(self, directory):
        """The sorted digests of the images the evaluator trained on, checked against the record (``None``
        for an evaluator of kgen 0.2, which recorded their positions only)."""
        if not self.record.seen_sha256:
            return None
        path = os.path.join(directory, SEEN_FILE)
        found = file_sha256(path) if os.path.isfile(path) else "missing"
        if found != self.record.seen_sha256:
            raise EvaluatorError(f"{path} is {'missing' if found == 'missing' else 'changed'}: it must list the images "
                                 f"the evaluator trained on (sha256 {self.record.seen_sha256[:12]}…). Re-create the "
                                 f"evaluator with `{self.record.command or 'kgen evaluator fit'}`.")
        return np.load(path)

    def unseen(self, data, content):
        """Which images of a training split this evaluator never saw.

        Args:
            data: the data spec (for evaluators of kgen 0.2, which recorded positions, not content).
            content: the split's :class:`kgen.data.content.SplitContent`.

        Returns:
            ``(boolean mask [n], description)``.
        """
        if self.seen is not None:
            mask = ~np.isin(content.digests, self.seen)
            return mask, f"not among the {len(self.seen)} images the evaluator trained on (by content)"
        mask = np.ones(len(content), bool)
        if data_key(data) == data_key(self.record.data):  # positions only: trust that the data is the same copy
            first, count = self.record.train_examples, self.record.held_out
            mask[:] = False
            mask[first:first + count] = True
            return mask, (f"training images {first}–{first + count - 1}, held out from the evaluator's training "
                          "(by position: an evaluator of kgen 0.2)")
        return mask, f"none seen by the evaluator (trained on {self.record.data})"

    def default_cache_dir(self):
        """Beside a user's evaluator (``<directory>/cache``); in the user cache for a shipped one (the
        package's directory may be read-only)."""
        return super().default_cache_dir() if self.shipped else os.path.join(self.directory, "cache")

    def check_images(self, images):
        if images.shape[-1] != self.image_shape[-1]:
            raise EvaluatorError(
                f"The evaluator takes {self.image_shape[-1]}-channel images; got {images.shape[-1]} channels. "
                "Train an evaluator on this data with `kgen evaluator fit`."
            )

    def _classify(self, images_uint8):
        x = tf.cast(images_uint8, tf.float32) / 255.0
        if tuple(x.shape[1:3]) != self.image_shape[:2]:
            x = tf.image.resize(x, self.image_shape[:2], method="bilinear", antialias=True)
        return self._network(x, training=False)


def find_evaluator(data, directory=None):
    """The evaluator for ``data``: ``directory`` if given, else the one kgen ships for it (``mnist``,
    ``fashion_mnist``), else the one ``kgen evaluator fit`` saved for that data spec.

    Raises:
        EvaluatorError: there is none; the message gives the command that trains one.
    """
    directory = directory or shipped_evaluator_dir(data) or evaluator_dir(data)
    if not os.path.isfile(os.path.join(directory, RECORD_FILE)):
        raise EvaluatorError(
            f"No evaluator classifier for {data} in {directory}: kgen ships evaluators for "
            f"{' and '.join(SHIPPED_DATA)}; train one for this data with `kgen evaluator fit --data {data}`."
        )
    return ClassifierExtractor(directory)


def recorded_evaluator(entry, data):
    """The evaluator a run recorded in its ``config.json`` (``ClassifierExtractor.identity()``), or the
    one :func:`find_evaluator` gives for ``data`` when the run recorded none.

    Returns:
        ``(extractor, note)``: ``note`` is ``None``, or says why the run's own evaluator is not known.

    Raises:
        EvaluatorError: the recorded evaluator is gone or its weights changed, or this kgen ships other
            weights for the data than the run was scored with (numbers of the two cannot be compared:
            the message says how to choose one with ``--evaluator``).
    """
    if not entry:
        return find_evaluator(data), None
    if isinstance(entry, str):  # runs of kgen before evaluators were pinned recorded a directory
        return find_evaluator(data), ("the run's metrics during training used an unpinned evaluator of an older "
                                      "kgen; the current one scores it now")
    if entry.get("directory"):
        extractor = ClassifierExtractor(entry["directory"])
        if extractor.record.sha256 != entry["sha256"]:
            raise EvaluatorError(f"The run was scored with evaluator sha256:{entry['sha256'][:12]}, but "
                                 f"{entry['directory']} now holds sha256:{extractor.record.sha256[:12]}.")
        return extractor, None
    extractor = find_evaluator(entry.get("data", data))
    if extractor.record.sha256 != entry["sha256"]:
        raise EvaluatorError(
            f"The run's metrics during training used evaluator sha256:{entry['sha256'][:12]}, but this kgen ships "
            f"sha256:{extractor.record.sha256[:12]} for {entry.get('data', data)}; scores of the two cannot be "
            f"compared. Name the evaluator to score with: --evaluator {extractor.directory}")
    return extractor, None
