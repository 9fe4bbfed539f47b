"""SavedModel export: signatures as saved_model_cli sees them, results without kgen, versioning."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from test_models import tiny_data, tiny_model

from kgen import export, images
from kgen.cli.main import cli
from kgen.run.layout import RunError, load_model

SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
TF_ONLY_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """One export per family, of tiny trained models: {name: (model, version dir)}."""
    base = tmp_path_factory.mktemp("exports")
    out = {}
    for name, arch in (("gan", "dcgan"), ("vae", "dcgan"), ("vaegan", "dcgan")):
        model = tiny_model(name, arch)
        model.compile()
        model.fit(tiny_data(model, 8), batch_size=4, epochs=1, verbose=0)
        out[name] = (model, export.export_model(model, base_dir=str(base)))
    model = tiny_model("vae", "dcgan", prior_components=2)  # a VAE that samples from a mixture fitted to codes
    model.compile()
    model.fit(tiny_data(model, 8), batch_size=4, epochs=1, verbose=0)
    model.fit_prior(np.concatenate([np.full((20, 4), 3.0), np.full((20, 4), -3.0)])
                    + np.random.default_rng(0).normal(0, 0.2, (40, 4)))
    out["vae-prior"] = (model, export.export_model(model, base_dir=str(base), name="vae_prior"))
    return out


def saved_model_cli(*args):
    result = subprocess.run([SAVED_MODEL_CLI, *args], capture_output=True, text=True, env=TF_ONLY_ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_layout_and_info(exports):
    model, path = exports["gan"]
    assert path.endswith(os.path.join("gan_dcgan", "1"))
    info = json.loads(open(os.path.join(path, export.INFO_FILE)).read())
    assert info["latent_dim"] == 4 and info["image_shape"] == [16, 16, 1] and info["signatures"] == [
        "images", "latents", "sample", "sample_images", "serving_default"]


SAMPLING = {"serving_default", "images", "latents", "sample", "sample_images"}


@pytest.mark.parametrize("name, signatures", [("gan", SAMPLING),
                                              ("vaegan", SAMPLING | {"encode", "decode", "reconstruct"})])
def test_saved_model_cli_show_lists_signatures_with_dtypes_and_shapes(exports, name, signatures):
    shown = saved_model_cli("show", "--dir", exports[name][1], "--all")
    found = {line.split("'")[1] for line in shown.splitlines() if line.startswith("signature_def[")}
    assert found - {"__saved_model_init_op"} == signatures
    section = lambda sig: shown.split(f"signature_def['{sig}']")[1].split("signature_def[")[0]  # noqa: E731
    default = section("serving_default")
    assert "inputs['z']" in default and "shape: (-1, 4)" in default
    assert "outputs['images']" in default and "DT_UINT8" in default and "shape: (-1, 16, 16, 1)" in default
    sample = section("sample")
    assert "inputs['n']" in sample and "DT_INT32" in sample and "inputs['seed']" in sample and "DT_INT64" in sample
    for images_only in ("images", "sample_images"):  # REST replies without float_images
        outputs = [line for line in section(images_only).splitlines() if "outputs['" in line]
        assert len(outputs) == 1 and "outputs['images']" in outputs[0]
    if "encode" in signatures:
        encode = section("encode")
        assert "inputs['images']" in encode and "DT_UINT8" in encode and "outputs['z_log_var']" in encode


def test_saved_model_cli_run_sample_and_serving_default(exports, tmp_path):
    path = exports["gan"][1]
    saved_model_cli("run", "--dir", path, "--tag_set", "serve", "--signature_def", "sample",
                    "--input_exprs", "n=5;seed=1", "--outdir", str(tmp_path / "sample"))
    assert np.load(tmp_path / "sample" / "images.npy").shape == (5, 16, 16, 1)
    np.save(tmp_path / "z.npy", np.zeros((3, 4), np.float32))
    saved_model_cli("run", "--dir", path, "--tag_set", "serve", "--signature_def", "serving_default",
                    "--inputs", f"z={tmp_path / 'z.npy'}", "--outdir", str(tmp_path / "default"))
    out = np.load(tmp_path / "default" / "images.npy")
    assert out.shape == (3, 16, 16, 1) and out.dtype == np.uint8


def test_a_tensorflow_only_process_gets_kgens_images(exports, tmp_path):
    script = textwrap.dedent("""
        import sys, numpy as np, tensorflow as tf
        path, out = sys.argv[1], sys.argv[2]
        m = tf.saved_model.load(path)
        results = {}
        results["sample"] = m.signatures["sample"](n=tf.constant(10), seed=tf.constant(3, tf.int64))["images"].numpy()
        z = np.random.RandomState(0).normal(size=(4, 4)).astype("float32")
        results["default"] = m.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
        if "encode" in m.signatures:
            x = np.random.RandomState(1).randint(0, 256, (3, 16, 16, 1)).astype("uint8")
            results["z_mean"] = m.signatures["encode"](images=tf.constant(x))["z_mean"].numpy()
            results["reconstruct"] = m.signatures["reconstruct"](images=tf.constant(x))["images"].numpy()
        results["imported"] = np.array(sorted(k for k in sys.modules if k.split(".")[0] in ("kgen", "keras")))
        np.savez(out, **results)
    """)
    for name, (model, path) in exports.items():
        out = tmp_path / f"{name}.npz"
        subprocess.run([sys.executable, "-c", script, path, str(out)], check=True, env=TF_ONLY_ENV, timeout=300,
                       cwd=tmp_path)
        got = np.load(out)
        assert not [m for m in got["imported"] if m.startswith("kgen")], "the SavedModel must not need kgen"
        np.testing.assert_array_equal(got["sample"], images.to_uint8(model.sample(10, seed=3), model.output_range))
        z = np.random.RandomState(0).normal(size=(4, 4)).astype("float32")
        np.testing.assert_array_equal(got["default"], images.to_uint8(model.generate(z), model.output_range))
        if name != "gan":
            x = np.random.RandomState(1).randint(0, 256, (3, 16, 16, 1)).astype("uint8")
            low, high = model.output_range
            xf = x.astype("float32") * ((high - low) / 255.0) + low
            np.testing.assert_allclose(got["z_mean"], model.encode(xf)[0], rtol=1e-5, atol=1e-6)
            expected = images.to_uint8(model.reconstruct(xf), model.output_range)
            np.testing.assert_array_equal(got["reconstruct"], expected)


def test_an_export_samples_from_the_mixture_prior_its_model_fitted(exports):
    model, path = exports["vae-prior"]
    exported = export.ExportedModel(path)
    z = exported.latent_batch(300, seed=2).numpy()
    np.testing.assert_allclose(z, model.latent_batch(300, seed=2), rtol=1e-6, atol=1e-6)
    assert np.all(np.abs(np.abs(z) - 3.0) < 1.5), "the export's latent vectors come from the fitted clusters"
    np.testing.assert_allclose(exported.latent_batch(44, seed=2, offset=256), z[256:], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(exported.sample(20, seed=2), model.sample(20, seed=2), atol=1e-5)
    plain_model, plain_path = exports["vae"]  # no prior: the latents signature gives N(0, I)'s vectors
    np.testing.assert_array_equal(export.ExportedModel(plain_path).latent_batch(10, seed=2),
                                  plain_model.latent_batch(10, seed=2))


def test_sample_signature_bounds_n(exports):
    import tensorflow as tf

    loaded = tf.saved_model.load(exports["gan"][1])
    for n in (0, export.MAX_SAMPLE_N + 1):
        with pytest.raises(tf.errors.InvalidArgumentError, match="n must be at"):
            loaded.signatures["sample"](n=tf.constant(n), seed=tf.constant(0, tf.int64))


def test_versions_are_never_overwritten_silently(exports, tmp_path):
    model = exports["gan"][0]
    assert export.export_model(model, str(tmp_path)).endswith("1")
    assert export.export_model(model, str(tmp_path)).endswith("2")
    with pytest.raises(export.ExportError, match="already exists.*--replace"):
        export.export_model(model, str(tmp_path), version=2)
    marker = tmp_path / "gan_dcgan" / "2" / "marker"
    marker.write_text("old")
    export.export_model(model, str(tmp_path), version=2, replace=True)
    assert not marker.exists() and export.is_export(str(tmp_path / "gan_dcgan" / "2"))


def test_a_failed_export_leaves_no_version_directory(exports, tmp_path, monkeypatch):
    def fail_half_way(self, filepath, **kwargs):
        os.makedirs(os.path.join(filepath, "variables"))
        raise OSError("disk full")

    # keras.export.ExportArchive() returns an instance of the backend's own archive class.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        export.export_model(exports["gan"][0], str(tmp_path), version=1)
    assert os.listdir(tmp_path / "gan_dcgan") == []


def test_savedmodel_without_variables_is_a_clear_error(exports, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(exports["gan"][1], broken)
    for data_file in (broken / "variables").glob("variables.data-*"):
        data_file.write_bytes(data_file.read_bytes()[:100])
    with pytest.raises(RunError, match="Cannot load the SavedModel"):
        load_model(str(broken))
    shutil.rmtree(broken / "variables")
    with pytest.raises(RunError, match="has no variables/ directory"):
        load_model(str(broken))


def test_cli_export_then_sample_matches_the_run(tmp_path):
    from conftest import tiny_images

    np.save(tmp_path / "x.npy", tiny_images(16))
    runner = CliRunner()
    os.chdir(tmp_path)
    result = runner.invoke(cli, ["fit", "--model", "vae", "--arch", "dcgan", "--data", "x.npy", "--latent-dim", "4",
                                 "--width", "4", "--batch-size", "8", "--run-dir", "run"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(cli, ["export", "--run-dir", "run", "--name", "vae", "--base-dir", "exports"])
    assert result.exit_code == 0, result.stderr
    assert "--model_base_path=" in result.output and (tmp_path / "exports" / "vae" / "1" / "saved_model.pb").is_file()
    for source, npy in (("run", "a.npy"), ("exports/vae/1", "b.npy")):
        result = runner.invoke(cli, ["sample", "--n", "20", "--seed", "4", "--run-dir", source, "--npy", npy])
        assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(np.load("a.npy"), np.load("b.npy"))
    assert sorted(os.listdir("exports/vae/1")) == sorted(["assets", "assets.extra", "fingerprint.pb", "saved_model.pb",
                                                          "variables"])
    result = runner.invoke(cli, ["export", "--run-dir", "run", "--name", "vae", "--base-dir", "exports", "--version",
                                 "1"])
    assert result.exit_code != 0 and result.stderr.startswith("Error: ") and "already exists" in result.stderr


def test_savedmodel_sampling_throughput_reports_each_batch_size(exports):
    from kgen.bench.throughput import savedmodel_sampling_throughput

    rows = savedmodel_sampling_throughput(exports["gan"][1], batch_sizes=(1, 8), min_seconds=0.05, warmup=1)
    assert [r["batch"] for r in rows] == [1, 8]
    for row in rows:
        assert row["calls"] >= 3 and row["images_per_s"] > 0
        assert row["images_per_s"] == pytest.approx(row["batch"] / (row["ms_per_call"] / 1000))


def test_kgen_json_records_a_data_path_relative_to_the_export(exports, tmp_path):
    from kgen.run import layout

    data = tmp_path / "data" / "tiny.npz"
    data.parent.mkdir()
    data.write_bytes(b"")
    path = export.export_model(exports["gan"][0], base_dir=str(tmp_path / "exports"), name="rel", data=str(data))
    info = json.loads(open(os.path.join(path, export.INFO_FILE)).read())
    assert info["data"] == os.path.relpath(data, path) and not os.path.isabs(info["data"])
    assert layout.training_data(path, export.ExportedModel(path)) == str(data)
    named = export.export_model(exports["gan"][0], base_dir=str(tmp_path / "exports"), name="named", data="mnist")
    assert json.loads(open(os.path.join(named, export.INFO_FILE)).read())["data"] == "mnist"


def test_keras_model_export_writes_kgens_savedmodel(exports, tmp_path):
    model = exports["gan"][0]
    model.export(str(tmp_path / "sm"))  # Keras' own method
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    assert {"serving_default", "sample", "images", "sample_images"} <= set(loaded.signatures)
    with pytest.raises(ValueError, match="tf_saved_model"):
        model.export(str(tmp_path / "other"), format="onnx")


def test_the_grpc_client_example_gets_kgens_images_from_a_prediction_service(exports, tmp_path):
    import importlib.util
    import pathlib

    from serving_standin import serve

    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "serving_grpc_client.py"
    spec = importlib.util.spec_from_file_location("serving_grpc_client", path)
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    model, version_dir = exports["gan"]
    server, address = serve({"tiny_gan": version_dir})
    try:
        served = client.sample(address, "tiny_gan", n=6, seed=3)
    finally:
        server.stop(None)
    np.testing.assert_array_equal(served, images.to_uint8(model.sample(6, seed=3), model.output_range))
    client.save_grid(served, str(tmp_path / "grid.png"))
    assert (tmp_path / "grid.png").stat().st_size > 100
