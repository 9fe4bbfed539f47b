"""Reference: the reference comparison's DCGAN (Banerjee, "GAN vs VAE") written the way a Keras user
writes it from the keras.io guide "Customizing what happens in fit()": a Model subclass with its own
train_step, a tf.data pipeline from NumPy, and model.fit. Nothing of kgen is used.

Networks (the paper's table, as kgen's ``paper-dcgan``): generator Dense(100 → 7·7·256), transposed
3×3 convolutions 128 (stride 2), 64, 32, 1 (stride 2) with ReLU between and tanh at the end;
discriminator 3×3 convolutions 32 (stride 2), 64, 128, 256 (stride 2), each with LeakyReLU(0.2) and
Dropout(0.25), then Dense(1). Adam(2e-4, β1 = 0.5) for both; non-saturating loss; one discriminator and
one generator update per step, each on fresh noise.

Prints one JSON line: images/s over the timed steps (between the end of the warm-up and the last step,
measured by a callback, so the start and end of ``fit`` are not counted) and over the whole ``fit`` call.

    python benchmarks/reference_keras_dcgan.py [--batch 128] [--steps 60] [--warmup 10] [--bf16] [--jit]
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

LATENT = 100


def make_generator():
    return keras.Sequential([
        keras.Input((LATENT,)),
        layers.Dense(7 * 7 * 256),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(64, 3, padding="same", activation="relu"),
        layers.Conv2DTranspose(32, 3, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, strides=2, padding="same"),
        layers.Activation("tanh", dtype="float32"),
    ], name="generator")


def make_discriminator():
    model = keras.Sequential([keras.Input((28, 28, 1))], name="discriminator")
    for filters, stride in ((32, 2), (64, 1), (128, 1), (256, 2)):
        model.add(layers.Conv2D(filters, 3, strides=stride, padding="same"))
        model.add(layers.LeakyReLU(0.2))
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, dtype="float32"))
    return model


class DCGAN(keras.Model):
    def __init__(self):
        super().__init__()
        self.generator, self.discriminator = make_generator(), make_discriminator()
        self.noise = keras.random.SeedGenerator(0)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, real):
        batch = tf.shape(real)[0]
        z = keras.random.normal((batch, LATENT), seed=self.noise)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            d_loss = (self.loss_fn(tf.ones_like(real_logits), real_logits)
                      + self.loss_fn(tf.zeros_like(fake_logits), fake_logits))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        z = keras.random.normal((batch, LATENT), seed=self.noise)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        return {"d_loss": d_loss, "g_loss": g_loss}


class StepTimer(keras.callbacks.Callback):
    """Times the steps after the warm-up: from the end of step ``warmup`` to the end of the last one."""

    def __init__(self, warmup):
        super().__init__()
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.warmup - 1:
            float(logs["d_loss"])  # wait for the step
            self.start = time.perf_counter()
        self.end_logs = logs

    def on_train_end(self, logs=None):
        float(self.end_logs["d_loss"])
        self.end = time.perf_counter()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=60, help="timed steps")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--bf16", action="store_true",
                        help="Keras' mixed_bfloat16 policy (the Keras mixed-precision guide)")
    parser.add_argument("--jit", action="store_true",
                        help="XLA (off by default, as Keras leaves it on CPU-only machines)")
    args = parser.parse_args()
    if args.bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    total = args.steps + args.warmup
    images = np.random.RandomState(0).uniform(-1, 1, (args.batch * total, 28, 28, 1)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(args.batch, drop_remainder=True).prefetch(2)
    model = DCGAN()
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                  jit_compile=args.jit)
    timer = StepTimer(args.warmup)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0, callbacks=[timer])
    whole = time.perf_counter() - start
    print(json.dumps({"impl": "keras-plain" + ("-bf16" if args.bf16 else "") + ("-xla" if args.jit else ""),
                      "batch": args.batch, "steps": args.steps,
                      "images_per_s": args.batch * args.steps / (timer.end - timer.start),
                      "images_per_s_whole_fit": args.batch * total / whole}))


if __name__ == "__main__":
    main()
