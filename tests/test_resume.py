"""Checkpoints, resuming (after Ctrl-C, SIGTERM and SIGKILL), divergence, and run dirs never overwritten."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import assert_one_line_error, run, tiny_images

from kgen.run.config import RunConfig, parse_interval
from kgen.run.layout import checkpoint_dir, checkpoint_files, load_model
from kgen.training.checkpoint import (Checkpointer, CheckpointError, load_checkpoint, read_state, save_checkpoint,
                                      training_variables)
from kgen.training.fit import RunDirError, build_model, fit_run as fit
from kgen.training.loop import DivergenceError, TrainingInterrupted


def tiny_config(data, run_dir, **overrides):
    values = dict(model="vaegan", data=str(data), epochs=2, batch_size=4, latent_dim=4, width=4, run_dir=str(run_dir),
                  grid_size=4, metrics_every=0, validate=False, checkpoint_every="5")
    values.update(overrides)
    return RunConfig(**values)


def newest_checkpoint(run_dir):
    """The newest checkpoint of a run (a path that does not exist when it has none yet)."""
    files = checkpoint_files(checkpoint_dir(str(run_dir)))
    return files[0] if files else os.path.join(checkpoint_dir(str(run_dir)), "none.npz")


def checkpoint_arrays(run_dir):
    """The training state a run ends with: in its newest checkpoint, or, for a finished run (which keeps
    none), in its model.keras."""
    files = checkpoint_files(checkpoint_dir(str(run_dir)))
    if files:
        with np.load(files[0]) as archive:
            return {k: archive[k] for k in archive.files if k != "__state__"}
    model = load_model(str(run_dir), float32=False)
    model.build_optimizers()
    return {f"{i:05d}": v.numpy() for i, (_, v) in enumerate(training_variables(model))}


def assert_same_state(run_a, run_b):
    a, b = checkpoint_arrays(run_a), checkpoint_arrays(run_b)
    assert a.keys() == b.keys()
    differing = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differing, f"{len(differing)} of {len(a)} variables differ"


class SignalAt(keras.callbacks.Callback):
    """Send a signal to this process after a given global step (as Ctrl-C or `kill` would)."""

    def __init__(self, step, signum=signal.SIGINT):
        super().__init__()
        self.step, self.signum, self.seen = step, signum, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            os.kill(os.getpid(), self.signum)


class PoisonAt(keras.callbacks.Callback):
    """Set a generator weight to NaN after a given global step (a diverging run)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            variable = self.model.decoder.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, "float32"))


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=tiny_images(48), y_train=np.arange(48) % 3)
    return path


# ------------------------------------------------------------------------------------ checkpoints
def test_parse_interval():
    assert parse_interval("200") == (200, None)
    assert parse_interval("30s") == (None, 30.0) and parse_interval("2m") == (None, 120.0)
    assert parse_interval("1.5h") == (None, 5400.0) and parse_interval("0") == (None, None)
    for bad in ("", "abc", "5 minutes", "-3", "2.5"):
        with pytest.raises(ValueError, match="checkpoint_every"):
            parse_interval(bad)


def test_checkpoint_round_trip_restores_every_variable(tmp_path):
    config = tiny_config("unused", tmp_path)
    model = build_model(config, (16, 16, 1))
    model.build_optimizers()
    model(np.zeros((2, 16, 16, 1), "float32"))
    path = str(tmp_path / "state.npz")
    save_checkpoint(path, model, {"epoch": 1, "step": 3})
    before = [v.numpy().copy() for v in model.variables]
    for v in model.variables:
        v.assign(np.zeros(v.shape, v.dtype))
    assert load_checkpoint(path, model) == {"epoch": 1, "step": 3}
    for value, v in zip(before, model.variables):
        np.testing.assert_array_equal(v.numpy(), value)
    assert read_state(path)["epoch"] == 1


def test_a_failed_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    model = build_model(tiny_config("unused", tmp_path), (16, 16, 1))
    model.build_optimizers()
    path = str(tmp_path / "state.npz")
    save_checkpoint(path, model, {"epoch": 0, "step": 5})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError):
        save_checkpoint(path, model, {"epoch": 0, "step": 10})
    assert read_state(path)["step"] == 5
    assert os.listdir(tmp_path) == ["state.npz"]  # no temporary file left


def test_damaged_or_foreign_checkpoints_are_clear_errors(tmp_path):
    model = build_model(tiny_config("unused", tmp_path), (16, 16, 1))
    model.build_optimizers()
    path = tmp_path / "state.npz"
    save_checkpoint(str(path), model, {"epoch": 0, "step": 1})
    other = build_model(tiny_config("unused", tmp_path, model="gan", arch="mlp"), (16, 16, 1))
    other.build_optimizers()
    with pytest.raises(CheckpointError, match="different model"):
        load_checkpoint(str(path), other)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="damaged"):
        read_state(str(path))


# --------------------------------------------------------------------------------- resuming in-process
@pytest.fixture
def interactive_sigint():
    """SIGINT handled as in a terminal, whatever launched the suite (background jobs and nohup ignore it)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_epoch_saves_and_the_resumed_run_matches_an_uninterrupted_one(data, tmp_path, signum,
                                                                                   interactive_sigint):
    fit(tiny_config(data, tmp_path / "whole", translate=0.1), verbose=0)
    term_handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as stopped:
        fit(tiny_config(data, tmp_path / "cut", translate=0.1), verbose=0, callbacks=[SignalAt(15, signum)])
    assert (stopped.value.epoch, stopped.value.step) == (1, 3)  # 12 steps per epoch: mid second epoch
    record = json.loads((tmp_path / "cut" / "config.json").read_text())
    assert record["status"] == "interrupted" and record["status_detail"] == signal.Signals(signum).name
    assert record["epochs_completed"] == 1
    # the handlers in force before are back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is term_handler
    result = fit(tiny_config(data, tmp_path / "cut", translate=0.1), verbose=0)
    assert_same_state(tmp_path / "whole", tmp_path / "cut")
    whole = json.loads((tmp_path / "whole" / "history.json").read_text())
    assert result.history["feature_loss"] == whole["feature_loss"] and len(result.history["epoch_seconds"]) == 2
    assert len(result.grid_paths) == 2
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["status"] == "finished"


def test_a_finished_run_trains_on_with_more_epochs(data, tmp_path):
    fit(tiny_config(data, tmp_path / "run", epochs=1), verbose=0)
    result = fit(tiny_config(data, tmp_path / "run", epochs=2), verbose=0)
    assert len(result.history["epoch_seconds"]) == 2
    fit(tiny_config(data, tmp_path / "whole", epochs=2), verbose=0)
    assert_same_state(tmp_path / "whole", tmp_path / "run")


@pytest.mark.parametrize("every, writes", [("1h", 2), ("0", 4), ("5", 10)])
def test_epoch_ends_wait_for_a_time_interval_but_the_end_of_training_is_always_saved(data, tmp_path, every, writes):
    # 48 images in batches of 4: 12 steps per epoch, 3 epochs. Written: the starting state, then "1h": the end of
    # training only; "0" (epoch ends only): every epoch's end; "5" (steps): steps 5 and 10 and the end of each epoch.
    result = fit(tiny_config(data, tmp_path / "run", epochs=3, checkpoint_every=every), verbose=0)
    assert len(result.checkpoint_seconds) == writes
    fit(tiny_config(data, tmp_path / "run", epochs=4, checkpoint_every=every), verbose=0)  # trains on from the end
    fit(tiny_config(data, tmp_path / "whole", epochs=4), verbose=0)
    assert_same_state(tmp_path / "whole", tmp_path / "run")


def test_an_epoch_end_is_due_once_the_time_interval_has_passed(tmp_path):
    checkpointer = Checkpointer(str(tmp_path), every="30s")
    assert not checkpointer.due_at_epoch_end()
    checkpointer._last_time -= 31
    assert checkpointer.due_at_epoch_end()
    assert Checkpointer(str(tmp_path), every="500").due_at_epoch_end()
    assert Checkpointer(str(tmp_path), every="0").due_at_epoch_end()


def test_a_resumed_run_on_a_time_budget_counts_its_steps_from_where_it_stopped(data, tmp_path, capsys):
    fit(tiny_config(data, tmp_path / "run", epochs=1, max_minutes=10), verbose=0)
    fit(tiny_config(data, tmp_path / "run", epochs=2, max_minutes=10), verbose=2)
    done = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert len(done) == 1 and done[0].startswith("epoch 2 done:") and " · step 24 · " in done[0], done


def test_run_dirs_are_never_overwritten_silently(data, tmp_path):
    fit(tiny_config(data, tmp_path / "run", epochs=1), verbose=0)
    with pytest.raises(RunDirError, match="already holds a finished run"):
        fit(tiny_config(data, tmp_path / "run", epochs=1), verbose=0)
    with pytest.raises(RunDirError, match=r"other settings \(latent_dim: 4 there, 8 now\)"):
        fit(tiny_config(data, tmp_path / "run", latent_dim=8), verbose=0)
    os.remove(tmp_path / "run" / "checkpoint" / "final-state.json")  # a finished run's state is gone
    with pytest.raises(RunDirError, match="no checkpoint"):
        fit(tiny_config(data, tmp_path / "run", epochs=2), verbose=0)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="holds no kgen run"):
        fit(tiny_config(data, tmp_path / "other"), verbose=0)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


# ------------------------------------------------------------------------------------------ divergence
def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint_and_model(data, tmp_path):
    with pytest.raises(DivergenceError, match="non-finite") as error:
        fit(tiny_config(data, tmp_path / "run"), verbose=0, callbacks=[PoisonAt(17)])
    # the weights turn NaN after step 5 of epoch 2, when a checkpoint is due: it is not written
    assert "weight" in str(error.value) and "at epoch 2, step 5" in str(error.value)
    assert "(epoch 2, step 0) is kept" in str(error.value)
    state = read_state(newest_checkpoint(tmp_path / "run"))
    assert (state["epoch"], state["step"]) == (1, 0)
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert all(np.isfinite(v.numpy()).all() for v in model.variables)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["status"].startswith("diverged")


def test_rollback_restores_the_checkpoint_with_lower_learning_rates(data, tmp_path):
    result = fit(tiny_config(data, tmp_path / "run", on_nan="rollback"), verbose=0, callbacks=[PoisonAt(17)])
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["status"] == "finished"
    [rollback] = record["rollbacks"]
    assert rollback["at"] == "epoch 2, step 5" and (rollback["to_epoch"], rollback["to_step"]) == (1, 0)
    assert rollback["learning_rates"] == pytest.approx({"e_optimizer": 1.5e-4, "g_optimizer": 1.5e-4,
                                                        "d_optimizer": 1.5e-4})
    assert all(np.isfinite(v.numpy()).all() for v in result.model.variables)


def test_the_cli_reports_divergence_in_one_line(data, tmp_path):
    result = run(["fit", "--model", "vae", "--data", str(data), "--width", "4", "--latent-dim", "4",
                  "--batch-size", "4",
                  "--lr", "1", "--metrics-every", "0", "--run-dir", "run"], tmp_path)
    assert_one_line_error(result, "Training diverged", "loss=", "--on-nan rollback")


# ------------------------------------------------------------------------------ a real process, killed
def kgen_fit(data, run_dir, *extra):
    command = [sys.executable, "-m", "kgen.cli.main", "fit", "--model", "vaegan", "--data", str(data), "--width", "4",
               "--latent-dim", "4", "--batch-size", "4", "--epochs", "3", "--checkpoint-every", "4",
               "--metrics-every", "0", "--no-validate", "--deterministic", "--run-dir", str(run_dir), *extra]
    # SIGINT at its default, as in a command typed at a terminal, even when this suite itself runs with
    # SIGINT ignored (under nohup or as a background job, whose children inherit the ignored signal).
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_checkpoint(run_dir, process, epoch, timeout=120):
    """Poll until the process's checkpoint is mid-epoch ``epoch``; return its (epoch, step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            state = read_state(newest_checkpoint(run_dir))
            if state["epoch"] == epoch and state["step"] > 0:
                return state["epoch"], state["step"]
        except CheckpointError:
            pass
        time.sleep(0.02)
    raise AssertionError("no mid-epoch checkpoint in time")


def test_a_killed_kgen_fit_resumes_to_the_weights_of_an_uninterrupted_run(data, tmp_path):
    whole = kgen_fit(data, tmp_path / "whole")  # runs alongside the killed one
    killed = kgen_fit(data, tmp_path / "killed")
    wait_for_checkpoint(tmp_path / "killed", killed, epoch=1)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    state = read_state(newest_checkpoint(tmp_path / "killed"))
    assert state["epoch"] < 3
    resumed = kgen_fit(data, tmp_path / "killed")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    position = f"epoch {state['epoch'] + 1}, step {state['step']}"
    assert f"Resuming {tmp_path / 'killed'} from its checkpoint: {position}" in err
    assert whole.wait(timeout=300) == 0
    assert_same_state(tmp_path / "whole", tmp_path / "killed")
    a = keras.saving.load_model(tmp_path / "whole" / "model.keras")
    b = keras.saving.load_model(tmp_path / "killed" / "model.keras")
    np.testing.assert_array_equal(a.sample(4, seed=3), b.sample(4, seed=3))


def test_ctrl_c_on_a_real_kgen_fit_says_how_to_resume(data, tmp_path):
    process = kgen_fit(data, tmp_path / "run")
    wait_for_checkpoint(tmp_path / "run", process, epoch=1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Interrupted by SIGINT: the training state is saved" in err and "Run the same command again" in err
    assert "Traceback" not in err


def test_an_ignored_sigint_stays_ignored_while_training():
    from kgen.training.signals import stop_signals

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `nohup` or `cmd &` start a process
    try:
        with stop_signals() as flag:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            assert flag["signal"] is None
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


SLEEPING_STEP = """
import os, sys, time
import tensorflow as tf
from tensorflow.python.data.experimental.ops.testing import sleep  # TensorFlow's own test helper
from kgen.training.signals import stop_signals

# One op that blocks in TensorFlow's C++ runtime for 60 s: Python signal handlers cannot run meanwhile.
sleeping = tf.data.Dataset.range(1).apply(sleep(60_000_000))
with stop_signals():
    print("ready", flush=True)
    next(iter(sleeping))
print("the op finished", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_stops_the_process_even_inside_a_long_op(signum):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # start_new_session: the child's SIGINT is not inherited as ignored from a background test run
    child = subprocess.Popen([sys.executable, "-c", SLEEPING_STEP], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # inside the sleeping op
        start = time.monotonic()
        child.send_signal(signum)
        time.sleep(0.5)
        child.send_signal(signum)
        child.wait(timeout=20)
        assert time.monotonic() - start < 10, "the second signal must not wait for the op"
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert "second signal" in child.stderr.read()


def test_the_generator_average_is_part_of_the_training_state(tmp_path):
    from kgen.training.checkpoint import training_variables

    for name in ("gan", "vaegan"):
        model = build_model(tiny_config("unused", tmp_path, model=name, arch="dcgan"), (16, 16, 1))
        model.build_optimizers()
        saved = {id(v) for _, v in training_variables(model)}
        average = model.generator_average.variables
        assert average and all(id(v) in saved for v in average), name
