"""Scale: mixed precision, and tf.distribute strategies (CPU devices stand in for GPUs and hosts)."""

import dataclasses
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import FAST, assert_one_line_error, run, tiny_images

from kgen.run.config import RunConfig
from kgen.training.fit import build_model, fit_run as fit

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")
MODELS = [("gan", "dcgan"), ("vae", "dcgan"), ("vaegan", "dcgan")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=tiny_images(64))
    return path


def python(script, *args, env=None):
    """Start ``tests/scripts/<script>`` in a new Python process (quiet TensorFlow)."""
    return subprocess.Popen([sys.executable, os.path.join(SCRIPTS, script), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})))


# ------------------------------------------------------------------------------------ mixed precision
@pytest.mark.parametrize("model_name, arch", MODELS)
def test_every_model_trains_an_epoch_in_mixed_bfloat16(data, tmp_path, model_name, arch):
    precision = "mixed_bfloat16"
    result = fit(RunConfig(model=model_name, arch=arch, data=str(data), width=4, latent_dim=4, batch_size=8,
                           precision=precision, run_dir=str(tmp_path / "run"), metrics_every=0, validate=False,
                           grid_size=4), verbose=0)
    model = result.model
    assert all(np.isfinite(values).all() for name, values in result.history.items())
    generator = model.decoder if hasattr(model, "decoder") else model.generator
    compute = {layer.dtype_policy.compute_dtype for layer in generator.layers if layer.weights}
    assert compute == {precision.split("_")[1]}  # the networks compute in 16 bits ...
    assert all(v.dtype == "float32" for v in model.trainable_variables)  # ... and keep float32 weights
    assert {type(getattr(model, role)).__name__ for role in model.optimizer_roles} == {"FusedAdam"}
    z = model.latent_batch(4, seed=1)
    assert model.generate(z).dtype == tf.float32
    reloaded = keras.saving.load_model(tmp_path / "run" / "model.keras")
    np.testing.assert_array_equal(reloaded.generate(z), model.generate(z))


def test_a_bfloat16_run_loads_to_sample_and_export_in_float32_with_its_training_state(data, tmp_path):
    from kgen.export import ExportedModel
    from kgen.run.layout import load_model

    run_dir = tmp_path / "run"
    config = RunConfig(model="gan", arch="dcgan", data=str(data), width=4, latent_dim=4, batch_size=8, epochs=2,
                       precision="mixed_bfloat16", run_dir=str(run_dir), metrics_every=0, validate=False, grid_size=4)
    trained = fit(config, verbose=0).model
    loaded, as_trained = load_model(run_dir), load_model(run_dir, float32=False)
    for model, dtype in ((loaded, "float32"), (as_trained, "bfloat16")):
        # The training state as training left it, either way: weights and both optimizers' state.
        assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 16
        for a, b in zip(model.weights + model.g_optimizer.variables + model.d_optimizer.variables,
                        trained.weights + trained.g_optimizer.variables + trained.d_optimizer.variables):
            np.testing.assert_array_equal(a, b, err_msg=a.path)
        assert {layer.dtype_policy.compute_dtype for layer in model.generator_average.layers if layer.weights} \
            == {dtype}
    assert np.abs(loaded.g_optimizer.variables[-1]).max() > 0  # Adam's moments are not left at zero
    # float32 samples are those of a float32 model with the trained weights, not the bfloat16 ones.
    reference = build_model(dataclasses.replace(config, precision="float32"), (16, 16, 1), precision="float32")
    reference.set_weights(trained.get_weights())
    images, expected = loaded.sample(64, seed=2), reference.sample(64, seed=2)
    np.testing.assert_allclose(images, expected, atol=1e-5)
    in_bfloat16 = as_trained.sample(64, seed=2)
    assert 1e-4 < np.abs(in_bfloat16 - expected).mean() < 0.05  # bfloat16 rounding: close, not equal
    result = run(["export", "--run-dir", str(run_dir), "--name", "gan", "--base-dir", str(tmp_path / "exports")],
                 tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    np.testing.assert_array_equal(ExportedModel(str(tmp_path / "exports" / "gan" / "1")).sample(64, seed=2), images)


@pytest.mark.parametrize("model_name, arch", MODELS)
def test_every_model_trains_in_mixed_float16_with_loss_scaling(data, model_name, arch):
    # kgen fit refuses float16 without a GPU; the machinery is tested through build_model, which takes
    # the precision as given.
    model = build_model(RunConfig(model=model_name, arch=arch, width=4, latent_dim=4), (16, 16, 1),
                        precision="mixed_float16")
    low, high = model.output_range
    images = (np.load(data)["x_train"][:16] / 255.0 * (high - low) + low).astype("float32")
    history = model.fit(images, batch_size=8, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    generator = model.decoder if hasattr(model, "decoder") else model.generator
    assert {layer.dtype_policy.compute_dtype for layer in generator.layers if layer.weights} == {"float16"}
    assert {type(getattr(model, role)).__name__ for role in model.optimizer_roles} == {"LossScaleOptimizer"}
    assert model.generate(model.latent_batch(2)).dtype == tf.float32


def test_float16_on_a_cpu_is_refused_at_once_in_one_line(data, tmp_path):
    from kgen.hardware import PrecisionError, check_precision

    with pytest.raises(PrecisionError, match="needs a GPU.*mixed_bfloat16 .this CPU has avx512_bf16"):
        check_precision("mixed_float16", flags={"avx512_bf16"}, gpus=[])
    with pytest.raises(PrecisionError, match="needs a GPU.*--precision float32"):
        check_precision("mixed_float16", flags=set(), gpus=[])
    check_precision("mixed_float16", flags=set(), gpus=[(7, 5)])  # a GPU: fine
    from conftest import assert_one_line_error, run

    if not tf.config.list_physical_devices("GPU"):  # kgen fit on this machine refuses it at once
        result = run(["fit", "--data", str(data), "--precision", "mixed_float16", "--run-dir", "r"], tmp_path)
        assert_one_line_error(result, "--precision mixed_float16 needs a GPU")
        assert not (tmp_path / "r").exists()


def test_an_overflowing_float16_step_is_skipped_and_the_scale_halved(data):
    model = build_model(RunConfig(model="gan", arch="dcgan", width=4, latent_dim=4), (16, 16, 1),
                        precision="mixed_float16")
    images = tf.constant(np.load(data)["x_train"][:8] / 127.5 - 1.0, tf.float32)
    model.train_step(images)  # an ordinary step first: the optimizers have state
    for role in model.optimizer_roles:
        getattr(model, role).dynamic_scale.assign(1e38)  # any gradient × 1e38 overflows float16
    before = [v.numpy().copy() for v in model.trainable_variables]
    iterations = [int(getattr(model, role).iterations.numpy()) for role in model.optimizer_roles]
    logs = model.train_step(images)
    assert all(np.isfinite(float(v)) for v in logs.values())
    for value, v in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(v.numpy(), value)
    assert [int(getattr(model, role).iterations.numpy()) for role in model.optimizer_roles] == iterations
    scales = [float(getattr(model, role).dynamic_scale.numpy()) for role in model.optimizer_roles]
    assert scales == pytest.approx([5e37] * 2)


# ------------------------------------------------------------------------------------------- strategies
def test_mirrored_over_two_devices_matches_one_device(data):
    models = [*MODELS, ("vae", "mlp")]
    process = python("mirrored_vs_one_device.py", data, ",".join(f"{m}/{a}" for m, a in models))
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    for name, entry in report.items():
        assert entry["replicas"] == 2
        # GAN and VAE: the same computation up to the order of float additions. VAE-GAN: its single
        # discriminator pass over [real; reconstructed; prior] assigns dropout masks by position in the
        # concatenation, which differs between one batch of 8 and two replicas of 4.
        tolerance = 1e-2 if name.startswith("vaegan") else 1e-6
        assert entry["max_abs_diff"] < tolerance, (name, entry)


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.parametrize("model_name, arch", [  # the VAE's encoder path is also the VAE-GAN's: slow only
    ("gan", "dcgan"), pytest.param("vae", "dcgan", marks=pytest.mark.slow), ("vaegan", "dcgan")])
def test_two_workers_end_with_identical_weights_and_only_the_chief_writes(data, tmp_path, model_name, arch):
    ports = free_ports(2)
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}}
        workers.append(python("multi_worker.py", data, tmp_path / f"run{index}", model_name, arch,
                              tmp_path / f"weights{index}.npz", env={"TF_CONFIG": json.dumps(tf_config)}))
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    a, b = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert a.files and all(np.array_equal(a[k], b[k]) for k in a.files)
    assert (tmp_path / "run0" / "model.keras").is_file()
    assert json.loads((tmp_path / "run0" / "config.json").read_text())["status"] == "finished"
    assert not (tmp_path / "run1").exists()  # the non-chief worker wrote nothing


@pytest.mark.parametrize("strategy, message", [
    ("multi_worker", "needs TF_CONFIG"),
    ("tpu", "No TPU found"),
])
def test_strategies_this_machine_cannot_run_are_one_line_errors(tmp_path, strategy, message):
    np.savez(tmp_path / "tiny.npz", x_train=tiny_images(16))
    result = run(["fit", "--data", "tiny.npz", "--strategy", strategy, "--run-dir", "run", *FAST], tmp_path)
    assert_one_line_error(result, message)
    assert not (tmp_path / "run").exists()
