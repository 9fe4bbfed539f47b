"""kgen.files: every file kgen writes appears whole or not at all."""

import json
import os

import pytest

from kgen.files import atomic_path, atomic_write, write_json


def leftovers(directory):
    return [name for name in os.listdir(directory) if ".tmp-" in name]


def test_a_write_replaces_the_file_only_when_complete(tmp_path):
    path = tmp_path / "sub" / "record.json"
    write_json(str(path), {"a": 1})  # makes the directory
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as f:
            f.write('{"a": 2, "half')
            raise RuntimeError("the writer failed half way")
    assert json.loads(path.read_text()) == {"a": 1}, "the old file must stay"
    assert not leftovers(path.parent), "the temporary file must be removed"


def test_writers_that_take_a_path_and_directories(tmp_path):
    target = tmp_path / "out.npz"
    with atomic_path(str(target), suffix=".npz") as tmp:
        assert tmp.endswith(".npz") and not target.exists()
        open(tmp, "wb").write(b"data")
    assert target.read_bytes() == b"data"
    directory = tmp_path / "model"
    with atomic_path(str(directory)) as tmp:
        os.makedirs(tmp)
        open(os.path.join(tmp, "x"), "w").write("x")
    assert (directory / "x").read_text() == "x"
    with pytest.raises(ValueError):
        with atomic_path(str(tmp_path / "other")) as tmp:
            os.makedirs(tmp)
            raise ValueError("failed")
    assert not leftovers(tmp_path) and not (tmp_path / "other").exists()


def test_a_written_file_is_flushed_to_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    write_json(str(tmp_path / "x.json"), [1])
    assert synced
