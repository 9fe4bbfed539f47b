"""`kgen evaluator fit`, `kgen fit` with metrics, and `kgen eval` on run dirs and exports, through the CLI."""

import json

import keras
import numpy as np
import pytest

from conftest import FAST, assert_one_line_error, run, tiny_images


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A working dir with labelled tiny data, its evaluator (in the default place) and a VAE run with metrics."""
    work = tmp_path_factory.mktemp("work")
    # 120 training images: the evaluator holds 20 out, as many as the ceiling of --n 20 needs
    np.savez(work / "tiny.npz", x_train=tiny_images(120), y_train=np.arange(120) % 3,
             x_test=tiny_images(16, seed=2), y_test=np.arange(16) % 3)
    result = run(["evaluator", "fit", "--data", "tiny.npz", "--epochs", "1", "--batch-size", "16"], work)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Test accuracy" in result.output and "saved_models/evaluators/tiny-" in result.output
    result = run(["fit", "--model", "vae", "--arch", "dcgan", "--data", "tiny.npz", "--epochs", "1",
                  "--metrics-n", "16", "--run-dir", "saved_models/vae", *FAST], work)
    assert result.exit_code == 0, result.output + result.stderr
    return work


def test_fit_finds_the_evaluator_and_logs_metrics(work):
    history = json.loads((work / "saved_models" / "vae" / "history.json").read_text())
    assert len(history["classifier_fid"]) == 1 and np.isfinite(history["classifier_fid"][0])
    record = json.loads((work / "saved_models" / "vae" / "config.json").read_text())
    assert "evaluators/tiny-" in record["evaluator"]["directory"] and len(record["evaluator"]["sha256"]) == 64


def test_eval_prints_a_table_and_writes_json(work):
    result = run(["eval", "--run-dir", "saved_models/vae", "--n", "20", "--ae-n", "8", "--iw-samples", "4"], work)
    assert result.exit_code == 0, result.output + result.stderr
    for label in ("FID", "IS", "KID", "precision", "recall", "real data (ceiling)", "negative ELBO",
                  "importance-weighted NLL"):
        assert label in result.output, label
    report = json.loads((work / "saved_models" / "vae" / "eval" / "classifier-n20-seed0.json").read_text())
    assert report["protocol"]["n_generated"] == report["protocol"]["n_ceiling"] == 20
    assert report["model"]["family"] == "VAE" and report["autoencoder"]["n"] == 8
    fid = report["metrics"]["fid"]
    line = next(line for line in result.output.splitlines() if line.startswith("classifier FID"))
    assert f"{fid['value']:.4g} [{fid['interval'][0]:.3g}, {fid['interval'][1]:.3g}]" in line
    assert f"{fid['ceiling']:.4g} [{fid['ceiling_interval'][0]:.3g}, {fid['ceiling_interval'][1]:.3g}]" in line
    assert "intervals: 95 % bootstrap intervals: 100 resamples" in result.output


def test_eval_of_an_export_matches_its_run(work):
    assert run(["export", "--run-dir", "saved_models/vae", "--name", "vae"], work).exit_code == 0
    args = ["--n", "20", "--metrics", "fid,kid", "--ae-n", "0"]
    assert run(["eval", "--run-dir", "saved_models/vae", *args, "--out", "from_run.json"], work).exit_code == 0
    result = run(["eval", "--run-dir", "saved_models/vae/1", *args], work)
    assert result.exit_code == 0, result.output + result.stderr
    from_export = json.loads((work / "eval_vae_v1_classifier-n20-seed0.json").read_text())
    from_run = json.loads((work / "from_run.json").read_text())
    assert set(from_export["metrics"]) == {"fid", "kid"}
    for name in ("fid", "kid"):
        expected = from_run["metrics"][name]["value"]
        assert from_export["metrics"][name]["value"] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    assert not (work / "saved_models" / "vae" / "1" / "eval").exists()  # exports are never written into


@pytest.mark.parametrize("args, fragments", [
    (["eval", "--run-dir", "saved_models/vae", "--metrics", "fid,lpips"], ["Unknown metric(s) lpips"]),
    (["eval", "--run-dir", "saved_models/vae", "--data", "fashion_mnist", "--evaluator", "nowhere"],
     ["No evaluator classifier", "kgen evaluator fit --data fashion_mnist"]),
    (["eval", "--run-dir", "saved_models/vae", "--n", "1"], ["1 is not in the range x>=2"]),
    (["eval", "--run-dir", "saved_models/vae", "--n", "21"], ["needs 21 images", "score 20 images or fewer"]),
    (["fit", "--data", "tiny.npz", "--metrics-n", "30", "--run-dir", "r", *FAST], ["--metrics-n 30 is more than"]),
    (["eval", "--run-dir", "nowhere"], ["nowhere does not exist"]),
    (["evaluator", "fit", "--data", "unlabelled.npy", "--batch-size", "8"], ["has no labels"]),
])
def test_bad_eval_input_is_one_line_error(work, args, fragments):
    np.save(work / "unlabelled.npy", tiny_images(20))
    result = run(args, work)
    assert_one_line_error(result, *fragments)


def test_eval_refuses_another_evaluator_than_the_runs_unless_named(work, tmp_path):
    import shutil

    run_dir = tmp_path / "vae"
    shutil.copytree(work / "saved_models" / "vae", run_dir)
    record = json.loads((run_dir / "config.json").read_text())
    evaluator = record["evaluator"]["directory"]
    record["evaluator"] = {"sha256": "0" * 64, "data": "fashion_mnist", "directory": None}  # another kgen's shipped one
    (run_dir / "config.json").write_text(json.dumps(record))
    result = run(["eval", "--run-dir", str(run_dir), "--n", "20", "--ae-n", "0", "--metrics", "fid"], work)
    assert_one_line_error(result, "used evaluator sha256:000000000000", "cannot be compared", "--evaluator")
    result = run(["eval", "--run-dir", str(run_dir), "--n", "20", "--ae-n", "0", "--metrics", "fid", "--bootstrap",
                  "0", "--evaluator", evaluator, "--data", "tiny.npz"], work)
    assert result.exit_code == 0, result.output + result.stderr


def test_inception_offline_is_one_line_error(work, monkeypatch):
    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.applications, "InceptionV3", no_network)
    result = run(["eval", "--run-dir", "saved_models/vae", "--extractor", "inception"], work)
    assert_one_line_error(result, "ImageNet weights are not available", "--extractor classifier")


def test_fit_computes_only_the_chosen_metrics(work):
    result = run(["fit", "--model", "gan", "--arch", "mlp", "--data", "tiny.npz", "--epochs", "1", "--metrics",
                  "fid,pr", "--metrics-n", "16", "--run-dir", "saved_models/gan-fid", *FAST], work)
    assert result.exit_code == 0, result.output + result.stderr
    history = json.loads((work / "saved_models" / "gan-fid" / "history.json").read_text())
    assert {"classifier_fid", "classifier_precision", "classifier_recall"} <= set(history)
    assert "classifier_is" not in history and "classifier_kid" not in history
