"""kgen's Adam with TensorFlow's fused update computes what Keras' Adam computes."""

import keras
import numpy as np
import tensorflow as tf

from kgen.models.fused_adam import FusedAdam


def test_fused_adam_follows_keras_adam_step_by_step():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(50, 30)).astype("float32")
    gradients = [rng.normal(size=(50, 30)).astype("float32") for _ in range(20)]
    weights = []
    for cls in (keras.optimizers.Adam, FusedAdam):
        variable = keras.Variable(start.copy())
        optimizer = cls(1e-2, beta_1=0.5, beta_2=0.9)
        step = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]))
        for g in gradients:
            step(tf.constant(g))
        weights.append(variable.numpy())
    assert np.abs(weights[0] - start).max() > 0.1  # they moved
    np.testing.assert_allclose(weights[1], weights[0], atol=1e-5)


def test_fused_adam_saves_and_loads_with_a_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=FusedAdam(1e-3), loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is FusedAdam and int(loaded.optimizer.iterations) == 1
