"""uint8 conversion, grids and PNG writing."""

import numpy as np
import pytest
import tensorflow as tf

from kgen import images


def test_to_uint8_maps_the_range_ends_and_clips():
    assert images.to_uint8(np.array([-1.0, 0.0, 1.0, 2.0, -3.0]), (-1, 1)).tolist() == [0, 128, 255, 255, 0]
    assert images.to_uint8(np.array([0.0, 0.5, 1.0]), (0, 1)).tolist() == [0, 128, 255]


def test_make_grid_layout():
    tiles = np.stack([np.full((3, 2, 1), i, np.uint8) for i in range(5)])
    grid = images.make_grid(tiles, pad=1, pad_value=9)
    assert grid.shape == (2 * 4 + 1, 3 * 3 + 1, 1)  # ceil(sqrt(5)) = 3 columns, 2 rows
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == 1 and grid[5, 1, 0] == 3
    assert grid[5, 7, 0] == 9  # the empty sixth cell is padding
    with pytest.raises(ValueError, match="non-empty batch"):
        images.make_grid(np.zeros((0, 2, 2, 1), np.uint8))


def test_save_grid_writes_a_png_that_decodes_back(tmp_path):
    x = np.random.RandomState(0).uniform(-1, 1, (4, 5, 5, 3)).astype("float32")
    grid = images.save_grid(tmp_path / "g.png", x, (-1, 1), scale=2)
    decoded = tf.io.decode_png((tmp_path / "g.png").read_bytes()).numpy()
    np.testing.assert_array_equal(decoded, grid)
    assert grid.shape == (2 * (2 * 7 + 2), 2 * (2 * 7 + 2), 3)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name], "no temporary file may be left behind"


def test_write_png_rejects_float_images(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        images.write_png(tmp_path / "x.png", np.zeros((2, 2, 1), np.float32))


def test_from_uint8_inverts_to_uint8():
    x = np.arange(256, dtype=np.uint8)
    for value_range in ((-1.0, 1.0), (0.0, 1.0)):
        scaled = images.from_uint8(x, value_range).numpy()
        assert scaled[0] == value_range[0] and scaled[-1] == pytest.approx(value_range[1])
        np.testing.assert_array_equal(images.to_uint8(scaled, value_range), x)


def test_rows_by_class_fills_short_rows_with_blank_tiles():
    tiles = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 1), np.uint8)
    arranged, cols = images.rows_by_class(tiles, [2, 0, 2, 2, 0])
    assert cols == 3 and arranged.shape == (6, 2, 2, 1)
    assert [int(t[0, 0, 0]) for t in arranged] == [1, 4, 255, 0, 2, 3]  # class 0's row, then class 2's
    with pytest.raises(ValueError, match="one label per image"):
        images.rows_by_class(tiles, [0, 1])
