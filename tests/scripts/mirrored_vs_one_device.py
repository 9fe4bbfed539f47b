"""Train each model a few steps on one device and mirrored over 2 logical CPU devices (same global
batch, seed and data); print the largest weight difference per model as JSON. Run as a subprocess:
logical devices must be set up before TensorFlow starts."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgen.run.config import RunConfig  # noqa: E402
from kgen.data import load_epochs  # noqa: E402
from kgen.training.fit import build_model  # noqa: E402
from kgen.training.loop import Trainer  # noqa: E402


def trained_weights(model_name, arch, data, strategy, precision="float32"):
    config = RunConfig(model=model_name, arch=arch, width=4, latent_dim=4, batch_size=8, precision=precision)
    pipeline, info = load_epochs(data, 8, (-1.0, 1.0) if model_name != "vae" else (0.0, 1.0), limit=32)
    keras.utils.set_random_seed(0)
    model = build_model(config, info.image_shape, strategy)
    Trainer(model, pipeline, verbose=0, strategy=strategy).fit(1)
    return [np.asarray(v.numpy(), dtype="float64") for v in model.trainable_variables]


data, models = sys.argv[1], [m.split("/") for m in sys.argv[2].split(",")]
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
report = {}
for name, arch in models:
    one = trained_weights(name, arch, data, None)
    two = trained_weights(name, arch, data, mirrored)
    report[f"{name}/{arch}"] = {
        "max_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one, two)),
        "max_abs_weight": max(float(np.max(np.abs(a))) for a in one),
        "replicas": mirrored.num_replicas_in_sync,
    }
print(json.dumps(report))
