"""The CLI end to end through click's CliRunner, in a temporary directory: fit, sample, errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FAST, TINY, assert_one_line_error, run

from kgen.cli.main import cli
from kgen.run.tensorboard_logs import read_events


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny GAN run, fitted through the CLI: (working dir, run dir)."""
    from conftest import tiny_images

    work = tmp_path_factory.mktemp("work")
    np.savez(work / "tiny.npz", x_train=tiny_images(32), y_train=np.arange(32) % 10,
             x_test=tiny_images(8, seed=2), y_test=np.arange(8) % 10)
    result = run(["fit", "--model", "gan", "--arch", "mlp", "--data", "tiny.npz", "--epochs", "2",
                  "--run-dir", "saved_models/tiny", *FAST], work)
    assert result.exit_code == 0, result.output + result.stderr
    return work, work / "saved_models" / "tiny", result


def test_fit_trains_a_wgan_gp_and_records_its_loss(trained, tmp_path):
    import json
    import shutil

    work = tmp_path  # not the shared working dir, whose latest run other tests sample from
    shutil.copy(trained[0] / "tiny.npz", work)
    result = run(["fit", "--model", "gan", "--arch", "dcgan", "--data", "tiny.npz", "--epochs", "1", "--gan-loss",
                  "wgan-gp", "--critic-steps", "2", "--gp-weight", "5", "--r1", "0.5", "--r1-every", "2",
                  "--ema", "0.9", "--beta2", "0.95", "--minibatch-std", "2", "--reuse-fakes", "--run-dir",
                  "saved_models/wgan", *FAST], work)
    assert result.exit_code == 0, result.output + result.stderr
    config = json.loads((work / "saved_models" / "wgan" / "config.json").read_text())
    assert config["kgen_run"]["model_options"] == {"loss": "wgan-gp", "critic_steps": 2, "gp_weight": 5.0,
                                                   "r1_weight": 0.5, "r1_every": 2, "ema_decay": 0.9,
                                                   "minibatch_std": 2, "reuse_fakes": True}
    assert config["kgen_run"]["beta_2"] == 0.95 and config["model_config"]["ema_decay"] == 0.9
    from kgen.run.layout import load_model

    model = load_model(str(work / "saved_models" / "wgan"))
    # WGAN-GP's own optimiser (Adam 1e-4, β1 = 0) with the β2 asked for; 2 critic steps per generator step.
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert (float(optimizer.learning_rate), optimizer.beta_1, optimizer.beta_2) == (pytest.approx(1e-4), 0.0, 0.95)
    assert int(model.d_optimizer.iterations) == 2 * int(model.g_optimizer.iterations) > 0
    result = run(["export", "--run-dir", "saved_models/wgan", "--name", "wgan_export"], work)
    assert result.exit_code == 0, result.output + result.stderr
    info = json.loads(next((work / "saved_models").glob("wgan_export/*/assets.extra/kgen.json")).read_text())
    assert info["model_config"]["ema_decay"] == 0.9 and info["model_config"]["loss"] == "wgan-gp"
    assert (model.r1_weight, model.r1_every, model.minibatch_std, model.reuse_fakes) == (0.5, 2, 2, True)
    assert (info["model_config"]["r1_weight"], info["model_config"]["r1_every"]) == (0.5, 2)


def test_fit_writes_the_run_dir(trained):
    work, run_dir, result = trained
    for name in ("model.keras", "config.json", "history.json", "losses.png", "samples/epoch_001.png",
                 "samples/epoch_002.png"):
        assert (run_dir / name).is_file(), name
    events = read_events(run_dir / "logs")
    assert len(events["train"].scalars["epoch_d_loss"]) == len(events["train"].scalars["epoch_g_loss"]) == 2
    assert len(events["train"].images["samples"]) == 2 and sorted(events) == ["train", "validation"]
    record = json.loads((run_dir / "config.json").read_text())
    assert record["status"] == "finished" and record["epochs_completed"] == 2
    assert record["kgen_run"]["model"] == "gan" and record["kgen_run"]["arch"] == "mlp"
    assert record["model_config"]["latent_dim"] == 4
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["d_loss"]) == 2 and len(history["val_g_loss"]) == 2
    assert "Run dir:" in result.output


def test_run_record_repeats_the_run(trained, tmp_path):
    from kgen.run.config import RunConfig

    _, run_dir, _ = trained
    config = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text())["kgen_run"])
    assert config.epochs == 2 and config.batch_size == 8 and config.jit_compile is False


def test_sample_grid_and_npy_are_deterministic(trained, tmp_path):
    work, run_dir, _ = trained
    outs = []
    for name in ("a", "b"):
        result = run(["sample", "--n", "10", "--run-dir", str(run_dir), "--seed", "5",
                      "--out", str(tmp_path / f"{name}.png"), "--npy", str(tmp_path / f"{name}.npy")], work)
        assert result.exit_code == 0, result.stderr
        outs.append(np.load(tmp_path / f"{name}.npy"))
    assert outs[0].shape == (10, TINY, TINY, 1) and outs[0].dtype == np.uint8
    np.testing.assert_array_equal(outs[0], outs[1])
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_sample_defaults_to_the_latest_run(trained):
    work, run_dir, _ = trained
    result = run(["sample", "--n", "4"], work)
    assert result.exit_code == 0, result.stderr
    assert (run_dir / "samples" / "sample_n4_seed0.png").is_file()


def test_sample_from_a_keras_file(trained, tmp_path):
    work, run_dir, _ = trained
    result = run(["sample", "--n", "3", "--model", str(run_dir / "model.keras"), "--npy", str(tmp_path / "x.npy")],
                 work)
    assert result.exit_code == 0, result.stderr
    assert np.load(tmp_path / "x.npy").shape == (3, TINY, TINY, 1)


def all_commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from all_commands(command, (*path, name))


def test_help_explains_every_option():
    for path, command in all_commands(cli):
        result = CliRunner().invoke(cli, [*path, "--help"])
        name = " ".join(path)
        assert result.exit_code == 0 and command.help.split()[0] in result.output
        for param in command.params:
            assert param.help and len(param.help) > 15, f"kgen {name} {param.name} has no help text"
            assert param.opts[0] in result.output
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "kgen, version" in result.output


@pytest.mark.parametrize("args, fragments", [
    (["fit", "--model", "diffusion"], ["'diffusion' is not one of"]),
    (["fit", "--model", "vaegan", "--arch", "mlp", "--data", "tiny.npz"],
     ["Unknown architecture 'mlp' for vaegan", "dcgan, paper-dcgan"]),
    (["fit", "--model", "vae", "--gamma", "1"], ["--gamma applies to --model vaegan only"]),
    (["fit", "--model", "vae", "--gan-loss", "hinge"], ["--gan-loss applies to --model gan only"]),
    (["fit", "--gan-loss", "wasserstein"], ["'wasserstein' is not one of 'non-saturating'"]),
    (["fit", "--data", "no/such/dir"], ["does not exist"]),
    (["fit", "--data", "empty"], ["is empty"]),
    (["fit", "--data", "texts"], ["No images in texts"]),
    (["fit", "--data", "tiny.npz", "--image-size", "30", "--arch", "dcgan"], ["divisible by 4"]),
    (["fit", "--data", "tiny.npz", "--metrics", "fid,lpips"], ["Unknown metric(s) lpips"]),
    (["sample", "--n", "0"], ["--n must be a positive"]),
    (["sample", "--n", "-3"], ["--n must be a positive"]),
    (["sample", "--run-dir", "empty"], ["has no model.keras"]),
    (["eval", "--run-dir", "empty"], ["has no model.keras"]),
    (["export", "--run-dir", "empty"], ["has no model.keras"]),
    (["sample", "--model", "bogus.keras"], ["not a valid .keras file"]),
    (["sample", "--model", "truncated.keras"], ["truncated.keras is not a valid .keras file"]),
    (["sample", "--model", "plain.keras"], ["holds a Sequential, not a kgen model"]),
    (["sample", "--run-dir", "no_variables/1"], ["no_variables/1 has no variables/ directory"]),
    (["fit", "--data", "truncated_image"], ["b.png is corrupt or not an image"]),
    (["fit", "--data", "mixed_sizes"], ["2 different sizes", "--image-size"]),
    (["fit", "--data", "mixed_channels"], ["mix grayscale and colour files"]),
    (["fit", "--data", "bad_magic"], ["train-images-idx3-ubyte is not an IDX file", "magic number"]),
    (["fit", "--data", "bad_length"], ["train-images-idx3-ubyte has 1000 bytes but its header", "needs 3088"]),
    (["fit", "--data", "wrong_shape.npz"], ["has shape (8, 5)", "expected [n, H, W]"]),
    (["fit", "--data", "wrong_dtype.npy"], ["dtype complex64"]),
    (["fit", "--data", "tiny.npz", "--epochs", "0"], ["Invalid value for '--epochs'"]),
    (["fit", "--data", "tiny.npz", "--image-size", "6", "--model", "vae", "--arch", "dcgan"], ["divisible by 4"]),
    (["fit", "--data", "tiny.npz", "--optimizer", "sgd"], ["'sgd' is not one of 'adam', 'rmsprop'"]),
    (["fit", "--data", "tiny.npz", "--checkpoint-every", "often"], ["checkpoint_every must be", "30s"]),
    (["fit", "--data", "tiny.npz", "--on-nan", "ignore"], ["'ignore' is not one of 'stop', 'rollback'"]),
    (["fit", "--data", "tiny.npz", "--run-dir", "texts"], ["holds no kgen run"]),
])
def test_bad_input_is_one_line_error_and_writes_nothing(trained, bad_inputs, args, fragments):
    work = bad_inputs
    before = sorted(str(p) for p in work.rglob("*"))
    result = run([*args, *(FAST if args[0] == "fit" else [])], work)
    assert_one_line_error(result, *fragments)
    assert sorted(str(p) for p in work.rglob("*")) == before, "a failed command must write nothing"


@pytest.fixture(scope="module")
def bad_inputs(trained):
    """The working dir of ``trained`` with one example of each kind of bad input in it."""

    import shutil

    import keras
    import tensorflow as tf
    from conftest import idx_bytes, tiny_images

    work, run_dir, _ = trained
    for name in ("empty", "texts", "truncated_image", "mixed_sizes", "mixed_channels", "bad_magic", "bad_length"):
        (work / name).mkdir(exist_ok=True)
    (work / "texts" / "a.txt").write_text("not an image")
    (work / "bogus.keras").write_bytes(b"this is not a zip archive")
    model_bytes = (run_dir / "model.keras").read_bytes()
    (work / "truncated.keras").write_bytes(model_bytes[: len(model_bytes) // 2])
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(work / "plain.keras")
    png = [tf.io.encode_png(image).numpy() for image in tiny_images(2, channels=3)]
    for i in range(8):
        (work / "truncated_image" / f"a{i}.png").write_bytes(png[0])
    (work / "truncated_image" / "b.png").write_bytes(png[1][: len(png[1]) // 2])
    (work / "mixed_sizes" / "a.png").write_bytes(png[0])
    (work / "mixed_sizes" / "b.png").write_bytes(tf.io.encode_png(tiny_images(1, size=24, channels=3)[0]).numpy())
    (work / "mixed_channels" / "a.png").write_bytes(png[0])
    (work / "mixed_channels" / "b.png").write_bytes(tf.io.encode_png(tiny_images(1)[0]).numpy())
    good_idx = idx_bytes(tiny_images(12)[..., 0])
    (work / "bad_magic" / "train-images-idx3-ubyte").write_bytes(b"\x00\x01" + good_idx[2:])
    (work / "bad_length" / "train-images-idx3-ubyte").write_bytes(good_idx[:1000])
    np.savez(work / "wrong_shape.npz", x_train=np.zeros((8, 5), np.uint8))
    np.save(work / "wrong_dtype.npy", np.zeros((8, 16, 16), np.complex64))
    result = run(["export", "--run-dir", str(run_dir), "--base-dir", str(work), "--name", "no_variables"], work)
    assert result.exit_code == 0, result.stderr
    shutil.rmtree(work / "no_variables" / "1" / "variables")
    return work


def test_large_n_streams_in_batches(trained, tmp_path):
    work, run_dir, _ = trained
    result = run(["sample", "--run-dir", str(run_dir), "--n", "20000", "--npy", str(tmp_path / "big.npy"),
                  "--out", str(tmp_path / "big.png")], work)
    assert result.exit_code == 0, result.stderr
    images = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert images.shape == (20000, TINY, TINY, 1) and images.dtype == np.uint8


def test_max_minutes_without_epochs_trains_until_the_time_is_up(trained, tmp_path):
    import json
    import shutil

    shutil.copy(trained[0] / "tiny.npz", tmp_path)
    result = run(["fit", "--model", "gan", "--arch", "mlp", "--data", "tiny.npz", "--max-minutes", "0.1",
                  "--metrics-every", "0", "--no-validate", "--run-dir", "saved_models/budget", *FAST], tmp_path)
    assert result.exit_code == 0, result.output + result.stderr
    record = json.loads((tmp_path / "saved_models" / "budget" / "config.json").read_text())
    assert record["stopped"] == "time budget of 0.1 minutes"
    assert record["epochs_completed"] > 1  # 4 steps an epoch: the budget, not `--epochs 1`, ended it


def test_existing_run_dir_is_not_overwritten_silently(trained):
    work, run_dir, _ = trained
    before = (run_dir / "model.keras").stat().st_mtime_ns
    result = run(["fit", "--model", "gan", "--arch", "mlp", "--data", "tiny.npz", "--run-dir", str(run_dir), *FAST],
                 work)
    assert_one_line_error(result, "already holds a finished run", "--overwrite")
    assert (run_dir / "model.keras").stat().st_mtime_ns == before


def test_sample_without_any_run(tmp_path):
    result = run(["sample"], tmp_path)
    assert_one_line_error(result, "No trained run under saved_models/")
