"""A run or study directory has one owner: the lock, checkpoint generations, a full disk, the footprint
of a finished run, and progress against a time budget."""

import errno
import glob
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import assert_one_line_error, run, tiny_images

from kgen.run.config import RunConfig
from kgen.run.layout import checkpoint_dir, checkpoint_files
from kgen.run.locks import directory_lock
from kgen.training.checkpoint import Checkpointer, CheckpointError, read_state
from kgen.training.fit import fit_run as fit


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tiny.npy"
    np.save(path, tiny_images(32))
    return path


def tiny_config(data, run_dir, **overrides):
    values = dict(model="gan", arch="dcgan", data=str(data), epochs=2, batch_size=4, latent_dim=4, width=4,
                  run_dir=str(run_dir), grid_size=4, metrics_every=0, validate=False, checkpoint_every="3",
                  deterministic=True)
    values.update(overrides)
    return RunConfig(**values)


def kgen_fit(data, run_dir, *extra):
    """``kgen fit`` in a process of its own, SIGINT at its default (as from a terminal)."""
    command = [sys.executable, "-m", "kgen.cli.main", "fit", "--data", str(data), "--width", "4", "--latent-dim", "4",
               "--batch-size", "4", "--checkpoint-every", "3", "--metrics-every", "0", "--no-validate",
               "--deterministic", "--run-dir", str(run_dir), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(condition, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def snapshot(directory):
    """Every file's bytes under ``directory`` (but the lock file)."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            if name != ".kgen-lock":
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files[os.path.relpath(path, directory)] = f.read()
    return files


# --------------------------------------------------------------------------------------------- the lock
def test_a_directory_has_one_writer_and_the_error_names_it(tmp_path):
    with directory_lock(str(tmp_path / "run")):
        holder = subprocess.run([sys.executable, "-c", "import sys; from kgen.run.locks import directory_lock\n"
                                 f"with directory_lock({str(tmp_path / 'run')!r}): pass"],
                                capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        assert holder.returncode != 0 and f"process {os.getpid()}" in holder.stderr and "DirectoryBusy" in holder.stderr
    assert not (tmp_path / "run").exists()  # a directory the lock created, left empty, is removed again
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with directory_lock(str(tmp_path / "mine")):  # released at the end of the block: free again
        pass
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]  # no lock file left behind


def test_a_lock_file_deleted_by_its_holder_is_not_locked_by_a_waiting_process(tmp_path, monkeypatch):
    """Between opening the lock file and locking it, its holder may delete it: locking the deleted file
    would give a second owner, so the lock is taken on the file at the path."""
    import fcntl

    import kgen.run.locks

    directory = tmp_path / "run"
    directory.mkdir()
    real_flock, calls = fcntl.flock, []

    def flock_after_the_holder_left(fd, operation):
        calls.append(fd)
        if len(calls) == 1:  # the holder releases and deletes the file just before this process locks it
            os.unlink(directory / ".kgen-lock")
        return real_flock(fd, operation)

    monkeypatch.setattr(kgen.run.locks.fcntl, "flock", flock_after_the_holder_left)
    with directory_lock(str(directory)):
        inode = os.stat(directory / ".kgen-lock").st_ino
        assert len(calls) == 2 and os.fstat(calls[-1]).st_ino == inode


def test_a_second_kgen_fit_on_a_live_run_dir_stops_and_changes_nothing(data, tmp_path):
    first = kgen_fit(data, tmp_path / "run", "--epochs", "40")
    wait_for(lambda: checkpoint_files(checkpoint_dir(str(tmp_path / "run"))), first)
    first.send_signal(signal.SIGSTOP)  # hold it still while the second one tries
    try:
        before = snapshot(tmp_path / "run")
        result = run(["fit", "--data", str(data), "--width", "4", "--latent-dim", "4", "--batch-size", "4",
                      "--epochs", "40", "--metrics-every", "0", "--no-validate", "--run-dir", str(tmp_path / "run")],
                     tmp_path)
        assert_one_line_error(result, f"is in use: process {first.pid}", "kgen fit", "trains into it")
        assert snapshot(tmp_path / "run") == before
        result = run(["fit", "--data", str(data), "--run-dir", str(tmp_path / "run"), "--overwrite", "--width", "4",
                      "--batch-size", "4"],
                     tmp_path)
        assert_one_line_error(result, "is in use")
        assert snapshot(tmp_path / "run") == before  # --overwrite too deletes nothing of a live run
    finally:
        first.send_signal(signal.SIGCONT)
    first.send_signal(signal.SIGKILL)  # the kernel releases its lock: the run resumes normally
    first.communicate()
    resumed = kgen_fit(data, tmp_path / "run", "--epochs", "2")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "Resuming" in err and json.loads((tmp_path / "run" / "config.json").read_text())["status"] == "finished"


def test_a_study_dir_has_one_writer(tmp_path):
    from kgen.compare.study import StudyPlan, run_study

    plan = StudyPlan(data="d.npz", models=["gan:mlp"], seeds=1, epochs=1)
    with directory_lock(str(tmp_path / "study")):
        study = str(tmp_path / "study")
        script = ("from kgen.compare.study import StudyPlan, run_study\n"
                  "plan = StudyPlan(data='d.npz', models=['gan:mlp'], seeds=1, epochs=1)\n"
                  f"run_study(plan, {study!r}, extractors=[])")
        other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
        assert other.returncode != 0 and "is in use" in other.stderr
    assert not os.path.exists(tmp_path / "study" / "study.json") and plan.seeds == 1  # nothing was written
    with pytest.raises(Exception):
        run_study(plan, str(tmp_path / "study"), extractors=[])  # free now: fails only on the missing data


# ------------------------------------------------------------------------------ checkpoint generations
class SignalAt:
    """A Keras callback that sends SIGTERM to this process after a given global step (as `kill` would)."""

    def __init__(self, step):
        import keras

        class Callback(keras.callbacks.Callback):
            seen = 0

            def on_train_batch_end(self, batch, logs=None):
                Callback.seen += 1
                if Callback.seen == step:
                    os.kill(os.getpid(), signal.SIGTERM)

        self.callback = Callback()


def final_state(run_dir):
    """A finished run's whole training state, from its model.keras."""
    from kgen.run.layout import load_model
    from kgen.training.checkpoint import training_variables

    model = load_model(str(run_dir), float32=False)
    model.build_optimizers()
    return [v.numpy() for _, v in training_variables(model)]


def test_the_last_checkpoints_are_kept_and_a_damaged_newest_one_falls_back(data, tmp_path, capfd):
    from kgen.training.loop import TrainingInterrupted

    with pytest.raises(TrainingInterrupted):  # 8 steps per epoch: stopped at epoch 2, step 2
        fit(tiny_config(data, tmp_path / "run", epochs=3), verbose=0, callbacks=[SignalAt(10).callback])
    files = checkpoint_files(checkpoint_dir(str(tmp_path / "run")))
    assert [os.path.basename(f) for f in files] == ["state-e00001-s0000002.npz", "state-e00001-s0000000.npz"]
    with open(files[0], "r+b") as f:  # the newest damaged
        f.truncate(os.path.getsize(files[0]) // 2)
    with pytest.raises(CheckpointError, match="damaged"):
        read_state(files[0])
    capfd.readouterr()
    fit(tiny_config(data, tmp_path / "run", epochs=3), verbose=0)
    err = capfd.readouterr().err
    assert "state-e00001-s0000002.npz is damaged" in err
    assert "Going back to the previous checkpoint, state-e00001-s0000000.npz: epoch 2, step 0" in err
    fit(tiny_config(data, tmp_path / "whole", epochs=3), verbose=0)
    for a, b in zip(final_state(tmp_path / "whole"), final_state(tmp_path / "run")):
        np.testing.assert_array_equal(a, b)  # going back costs steps, not exactness


def test_no_intact_checkpoint_is_one_clear_error(tmp_path):
    checkpointer = Checkpointer(str(tmp_path))
    with pytest.raises(CheckpointError, match="No checkpoint in"):
        checkpointer.restore(None)
    (tmp_path / "state-e00000-s0000003.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="damaged.*No intact checkpoint is left: start over with --overwrite"):
        checkpointer.restore(None)


def test_a_finished_run_keeps_its_state_once(data, tmp_path):
    fit(tiny_config(data, tmp_path / "run", epochs=1), verbose=0)
    checkpoints = tmp_path / "run" / "checkpoint"
    assert sorted(os.listdir(checkpoints)) == ["final-state.json"]  # no .npz: model.keras holds the state
    state = json.loads((checkpoints / "final-state.json").read_text())
    assert (state["epoch"], state["step"]) == (1, 0)


# ---------------------------------------------------------------------------------------- a full disk
WRITES = {  # kind of write → (a file name fragment of the write that fails, the command that makes it)
    "checkpoint": ("checkpoint/state-e", "fit"),
    "model": ("model.keras", "fit"),
    "grid": ("samples/epoch_002", "fit"),
    "export": ("exports/gan/2", "export"),
    "samples": ("s.npy", "sample"),
}


@pytest.fixture(scope="module")
def finished_run(data, tmp_path_factory):
    """A finished one-epoch run and one export of it."""
    root = tmp_path_factory.mktemp("finished")
    fit(tiny_config(data, root / "run", epochs=1), verbose=0)
    assert run(["export", "--run-dir", str(root / "run"), "--name", "gan", "--base-dir", str(root / "exports")],
               root).exit_code == 0
    return root


@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_that_fails_leaves_the_previous_files_and_one_line(kind, finished_run, data, tmp_path, monkeypatch):
    import shutil

    from kgen import files

    shutil.copytree(finished_run, tmp_path, dirs_exist_ok=True)
    fragment, command = WRITES[kind]
    publish = files._publish

    def full_disk(tmp, path):
        if fragment in path.replace(os.sep, "/"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        publish(tmp, path)

    monkeypatch.setattr(files, "_publish", full_disk)
    before = snapshot(tmp_path)
    args = {"fit": ["fit", "--data", str(data), "--width", "4", "--latent-dim", "4", "--batch-size", "4", "--epochs",
                    "2", "--checkpoint-every", "3", "--metrics-every", "0", "--no-validate", "--deterministic",
                    "--run-dir", "run"],
            "export": ["export", "--run-dir", "run", "--name", "gan", "--base-dir", "exports"],
            "sample": ["sample", "--run-dir", "run", "--n", "4", "--npy", "s.npy"]}[command]
    result = run(args, tmp_path)
    # (a resumed fit says so on stderr first: "Resuming run from its checkpoint …")
    errors = [line for line in result.stderr.splitlines() if not line.startswith("Resuming ")]
    assert result.exit_code != 0 and len(errors) == 1 and "Traceback" not in result.output + result.stderr, errors
    for text in ("Error: Could not write", fragment.split("/")[-1], "No space left on device", "MB are free there",
                 "the previous version of the file, if any, is intact"):
        assert text in errors[0], errors[0]
    after = snapshot(tmp_path)
    assert not [name for name in after if ".tmp-" in name]  # nothing half-written stays
    for name, content in before.items():  # what existed is intact, but the run's own record of what happened
        if not name.endswith(("config.json", "history.json", "losses.png")) and "logs" not in name:
            assert after.get(name) == content or name.startswith("run/checkpoint"), name
    if command == "fit":
        from kgen.run.layout import load_model

        load_model(str(tmp_path / "run"))  # the model file that was there still loads


def test_a_real_full_disk_during_training(data, tmp_path):
    """A 6 MB filesystem (tmpfs, mounted when the tests run as root): the checkpoint that does not fit."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root; the injected failures above run everywhere")
    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("mount -t tmpfs failed here (no privilege in this container)")
    try:
        result = run(["fit", "--data", str(data), "--width", "4", "--latent-dim", "4", "--batch-size", "4", "--epochs",
                      "1", "--metrics-every", "0", "--no-validate", "--run-dir", str(disk / "run")], tmp_path)
        assert result.exit_code == 0, result.output + result.stderr
        model_before = (disk / "run" / "model.keras").read_bytes()
        with open(disk / "filler", "wb", buffering=0) as f:  # leave less free space than a checkpoint needs
            try:
                while True:
                    f.write(b"\0" * 65536)
                    os.fsync(f.fileno())
            except OSError:
                pass
        result = run(["fit", "--data", str(data), "--width", "4", "--latent-dim", "4", "--batch-size", "4", "--epochs",
                      "2", "--metrics-every", "0", "--no-validate", "--run-dir", str(disk / "run")], tmp_path)
        errors = [line for line in result.stderr.splitlines() if not line.startswith("Resuming ")]
        assert result.exit_code != 0 and len(errors) == 1, result.stderr
        assert "Could not write" in errors[0] and "No space left on device" in errors[0] and "MB are free" in errors[0]
        assert (disk / "run" / "model.keras").read_bytes() == model_before
    finally:
        subprocess.run(["umount", "-l", str(disk)])


# ---------------------------------------------------------------------------------- progress on a budget
def test_progress_of_a_time_budget_says_minutes_steps_images_per_second_and_time_left():
    from types import SimpleNamespace

    from kgen.training.callbacks import BudgetProgress

    class Clock:
        """Minutes of training (evaluations during training pause it)."""
        now = 0.0

        def minutes(self):
            return self.now

    clock, out = Clock(), io.StringIO()
    progress = BudgetProgress(10, clock, images_per_step=128, stream=out, interactive=False)
    progress.set_model(SimpleNamespace(training_steps=lambda: 0))
    progress.on_epoch_begin(0)
    for step in range(1, 301):
        clock.now = step / 100  # 100 steps a minute: 0.6 s a step, 213 images/s
        progress.on_train_batch_end(step, {"d_loss": 0.5, "g_loss": 1.25})
    progress.on_epoch_end(0, {"d_loss": 0.5, "g_loss": 1.25, "val_d_loss": 0.75})
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # after minutes 1, 2 and 3, and the epoch's end
    assert lines[0] == "  1.0 of 10 min · step 100 · 213 images/s ·  9.0 min left · d_loss 0.5  g_loss 1.25"
    assert lines[-1].startswith("epoch 1 done:   3.0 of 10 min · step 300") and lines[-1].endswith("val_d_loss 0.75")
    # 30 s of validation and grids between the epochs and a slow first step are not the next epoch's rate
    clock.now += 0.5
    for step in range(301, 401):
        clock.now += (3.0 if step == 301 else 0.3) / 60  # then 0.3 s a step: 427 images/s
        progress.on_train_batch_end(step, {"d_loss": 0.5, "g_loss": 1.25})
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("  4.0 of 10 min · step 392 · 427 images/s")
    assert "Epoch" not in out.getvalue()


# ------------------------------------------------------------------------------- a study killed with -9
@pytest.mark.slow
def test_a_study_killed_at_any_point_and_run_again_gives_the_same_report(tmp_path):
    """`kgen compare` killed with SIGKILL at several moments (training, evaluating, writing the report),
    then run again until it completes: the same report.json as a study never interrupted, and no run
    trained again once finished."""
    np.savez(tmp_path / "tiny.npz", x_train=tiny_images(120), y_train=np.arange(120) % 3,
             x_test=tiny_images(16, seed=3), y_test=np.arange(16) % 3)
    evaluator = run(["evaluator", "fit", "--data", "tiny.npz", "--epochs", "1", "--batch-size", "16"], tmp_path)
    assert evaluator.exit_code == 0
    settings = "@width=4;latent_dim=4;deterministic=true;grid_size=4;checkpoint_every=5"
    compare = [sys.executable, "-m", "kgen.cli.main", "compare", "--data", "tiny.npz", "--models",
               f"gan:mlp{settings},vae:mlp{settings}", "--seeds", "2", "--epochs", "3", "--batch-size", "8",
               "--eval-n", "20", "--metrics-every", "0", "--no-validate"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")

    def checkpoints(study):
        return set(glob.glob(str(tmp_path / study / "runs" / "*" / "checkpoint" / "state-*.npz")))

    def attempt(study, kill=None):
        """Run the study; ``kill``: seconds after which to SIGKILL it, or "mid-run" to kill it as soon as a
        run in progress writes a checkpoint (finished runs keep none)."""
        before = checkpoints(study)
        process = subprocess.Popen(compare + ["--study-dir", study], cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        if kill == "mid-run":
            while process.poll() is None and not checkpoints(study) - before:
                time.sleep(0.02)
            kill = 0.001
        try:
            out, err = process.communicate(timeout=kill)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            out, err = process.communicate()
        return process.returncode, out, err

    code, out, err = attempt("whole")
    assert code == 0, err
    outputs, finished = [], set()
    for kill in ("mid-run", 8, "mid-run", 16, "mid-run", 24, "mid-run", 32, None):
        code, out, err = attempt("killed", kill)
        for line in out.splitlines():
            if ": training" in line or ": resuming" in line:
                run_name = line.split(":")[0] + line.split(":")[1]
                assert run_name not in finished, f"{run_name} was trained again after it finished"
            if "finished earlier" in line:
                finished.add(line.split(":")[0] + line.split(":")[1])
        outputs.append(out)
        if code == 0:
            break
    assert code == 0, err
    assert any("resuming" in out for out in outputs), "no attempt was killed mid-run: no test"
    whole = json.loads((tmp_path / "whole" / "report.json").read_text())
    killed = json.loads((tmp_path / "killed" / "report.json").read_text())
    assert killed["sample_quality"] == whole["sample_quality"]
