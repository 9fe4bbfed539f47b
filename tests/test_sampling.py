"""write_samples: streamed .npy output for large n, the grid cap, nothing half-written."""

import numpy as np
import pytest
import tensorflow as tf
from test_models import tiny_model

from kgen import images
from kgen.run.sample_files import MAX_GRID, write_samples


def test_large_n_streams_to_npy_and_caps_the_grid(tmp_path):
    model = tiny_model("gan", "mlp")
    shown = write_samples(model, 1500, tmp_path / "g.png", seed=2, npy_path=tmp_path / "x.npy", batch_size=512, scale=1)
    x = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert shown == MAX_GRID and x.shape == (1500, 16, 16, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[:64], images.to_uint8(model.sample(64, seed=2), model.output_range))
    grid = tf.io.decode_png((tmp_path / "g.png").read_bytes()).numpy()
    np.testing.assert_array_equal(grid, images.make_grid(np.asarray(x[:MAX_GRID])))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "x.npy"]


def test_a_failure_leaves_no_partial_files(tmp_path, monkeypatch):
    model = tiny_model("gan", "mlp")

    def broken(*args, **kwargs):
        yield np.zeros((256, 16, 16, 1), np.float32)
        raise RuntimeError("generator exploded")

    monkeypatch.setattr(model, "sample_batches", broken)
    with pytest.raises(RuntimeError, match="exploded"):
        write_samples(model, 600, tmp_path / "g.png", npy_path=tmp_path / "x.npy")
    assert list(tmp_path.iterdir()) == []
