"""kgen's evaluator classifier: a small CNN trained on a labelled dataset, whose penultimate features
and logits stand in for InceptionV3's in FID / KID / precision-recall / IS ("classifier metrics").

It works offline and is fast on a CPU, and on MNIST-like data it sees what matters there (an
ImageNet network sees 28×28 garments upsampled to 299×299). Each evaluator is saved with a record of
its data and test accuracy under ``saved_models/evaluators/<data key>/``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os

import keras
import tensorflow as tf

from kgen.callbacks import write_json
from kgen.data import load_dataset
from kgen.evaluation.extractor import FeatureExtractor

EVALUATORS_ROOT = os.path.join("saved_models", "evaluators")
MODEL_FILE = "classifier.keras"
RECORD_FILE = "evaluator.json"
FEATURES_LAYER = "features"
LOGITS_LAYER = "logits"


class EvaluatorError(ValueError):
    """No usable evaluator classifier (missing, or trained for other images); the message says how to get one."""


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
    """Where the evaluator of data spec ``spec`` is (or would be) saved."""
    return os.path.join(root, data_key(spec))


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
    inputs = keras.Input(tuple(image_shape), name="images")
    x = inputs
    for filters in (width, 2 * width):
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(keras.layers.Dropout(dropout)(x))
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    logits = keras.layers.Dense(num_classes, name=LOGITS_LAYER)(keras.layers.Dropout(dropout)(features))
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
        trained: ISO time stamp.
    """

    data: str
    image_shape: list
    num_classes: int
    test_accuracy: float
    epochs: int
    trained: str


def train_evaluator(data, epochs=12, batch_size=128, seed=0, directory=None, translate=0.05, verbose=2):
    """Train the evaluator classifier on a labelled dataset and save it with its test accuracy.

    Args:
        data: data spec with labels and a test split (e.g. ``"fashion_mnist"``).
        epochs: training epochs.
        batch_size: images per step.
        seed: seed of weights and shuffling.
        directory: where to save (default :func:`evaluator_dir` of ``data``).
        translate: random-shift augmentation (fraction of the image size).
        verbose: Keras progress (0, 1 or 2).

    Returns:
        ``(directory, EvaluatorRecord)``.

    Raises:
        DataError: the data cannot be read; EvaluatorError: it has no labels or no test split.

    Example:
        >>> path, record = train_evaluator("fashion_mnist")  # doctest: +SKIP
        >>> record.test_accuracy
        0.93…
    """
    from kgen.data import NoSplitError

    train, info = load_dataset(data, batch_size, (0.0, 1.0), None, "train", seed, translate=translate, labels=True)
    if not info.has_labels:
        raise EvaluatorError(f"{info.description} has no labels: the evaluator classifier needs a labelled dataset.")
    try:
        test, _ = load_dataset(data, 500, (0.0, 1.0), info.image_shape[0], "test", seed, shuffle=False,
                               labels=True, drop_remainder=False)
    except NoSplitError:
        raise EvaluatorError(f"{info.description} has no test split to measure the evaluator's accuracy on.") from None
    num_classes = info.num_classes  # largest training label + 1
    keras.utils.set_random_seed(seed)
    model = build_classifier(info.image_shape, num_classes)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * info.steps_per_epoch)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(train, epochs=epochs, validation_data=test, shuffle=False, verbose=verbose)  # shuffled by the pipeline
    _, accuracy = model.evaluate(test, verbose=0)

    directory = directory or evaluator_dir(data)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{MODEL_FILE}")
    model.save(tmp)
    os.replace(tmp, os.path.join(directory, MODEL_FILE))
    record = EvaluatorRecord(str(data), list(info.image_shape), num_classes, float(accuracy), epochs,
                             datetime.datetime.now().isoformat(timespec="seconds"))
    write_json(os.path.join(directory, RECORD_FILE), dataclasses.asdict(record))
    return directory, record


class ClassifierExtractor(FeatureExtractor):
    """Features (the ``features`` layer) and logits of a trained evaluator classifier.

    Args:
        directory: an evaluator directory written by :func:`train_evaluator`.
        batch_size: images per forward pass.

    Attributes:
        name: ``"classifier"``.
        record: its :class:`EvaluatorRecord`.
        key: identifies the exact weights (for caching reference features).
    """

    name = "classifier"

    def __init__(self, directory, batch_size=500):
        model_file, record_file = os.path.join(directory, MODEL_FILE), os.path.join(directory, RECORD_FILE)
        if not (os.path.isfile(model_file) and os.path.isfile(record_file)):
            raise EvaluatorError(f"{directory} holds no evaluator classifier ({MODEL_FILE} and {RECORD_FILE}).")
        with open(record_file) as f:
            self.record = EvaluatorRecord(**json.load(f))
        with open(model_file, "rb") as f:
            self.key = f"classifier-{hashlib.sha1(f.read()).hexdigest()[:12]}"
        self.directory = directory
        self.batch_size = batch_size
        classifier = keras.saving.load_model(model_file, safe_mode=True)
        network = keras.Model(classifier.inputs, [classifier.get_layer(FEATURES_LAYER).output, classifier.output])
        self.image_shape = tuple(self.record.image_shape)
        self._network = network
        self._features_and_logits = tf.function(self._classify, reduce_retracing=True)

    def describe(self):
        """One line for reports: which evaluator, trained on what, how accurate."""
        return (f"kgen evaluator classifier ({self.record.data}, test accuracy "
                f"{100 * self.record.test_accuracy:.2f} %; 128-d features, softmax of {self.record.num_classes} classes)")

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
    """The evaluator for ``data``: ``directory`` if given, else the saved one for that data spec.

    Raises:
        EvaluatorError: there is none; the message gives the command that trains one.
    """
    directory = directory or evaluator_dir(data)
    if not os.path.isfile(os.path.join(directory, RECORD_FILE)):
        raise EvaluatorError(
            f"No evaluator classifier for {data} in {directory}: train one with `kgen evaluator fit --data {data}`."
        )
    return ClassifierExtractor(directory)
