"""The data layer on fixture files the tests write: IDX, image folders, npz/npy, name resolution."""

import gzip
import time

import numpy as np
import pytest

from kgen.data import DataError, load_dataset, sources
from kgen.data.idx import parse_idx, read_idx

from conftest import TINY, idx_bytes, tiny_images


# ----------------------------------------------------------------------------------------------- IDX
def test_idx_round_trip_plain_and_gzip(tmp_path):
    array = tiny_images(5)[..., 0]
    (tmp_path / "a-idx3-ubyte").write_bytes(idx_bytes(array))
    with gzip.open(tmp_path / "a-idx3-ubyte.gz", "wb") as f:
        f.write(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "a-idx3-ubyte.gz")), array)


def test_idx_other_dtypes():
    array = np.arange(6, dtype=">i4").reshape(2, 3)
    np.testing.assert_array_equal(parse_idx(idx_bytes(array, 0x0C)), array)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"\x01" + b[1:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "not an IDX file"),
    (lambda b: b[:-1], "needs"),
    (lambda b: b + b"\x00", "needs"),
    (lambda b: b[:6], "truncated"),
    (lambda b: b"", "not an IDX file"),
])
def test_idx_bad_bytes_are_data_errors(mutate, message):
    raw = idx_bytes(tiny_images(3)[..., 0])
    with pytest.raises(DataError, match=message):
        parse_idx(mutate(raw))


def test_idx_directory_pipeline_scales_and_keeps_labels(idx_dir):
    dataset, info = load_dataset(str(idx_dir), batch_size=8, value_range=(-1.0, 1.0), labels=True, seed=1)
    assert info.image_shape == (TINY, TINY, 1) and info.num_examples == 48 and info.steps_per_epoch == 6
    assert info.has_labels
    batches = list(dataset)
    assert len(batches) == 6
    x, y = batches[0]
    assert x.shape == (8, TINY, TINY, 1) and x.dtype.name == "float32"
    assert float(np.min([b[0].numpy().min() for b in batches])) == -1.0
    assert float(np.max([b[0].numpy().max() for b in batches])) <= 1.0
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == sorted((np.arange(48) % 10).tolist())
    _, test_info = load_dataset(str(idx_dir), batch_size=8, split="test")
    assert test_info.num_examples == 16


def test_shuffling_follows_the_seed(idx_dir):
    first = lambda seed: next(iter(load_dataset(str(idx_dir), batch_size=48, seed=seed)[0])).numpy()  # noqa: E731
    np.testing.assert_array_equal(first(3), first(3))
    assert not np.array_equal(first(3), first(4))


def test_training_pipelines_run_without_tf_data_autotuning(idx_dir):
    # Autotuning's backoff thread can stall an epoch's end by seconds (see without_autotuning).
    from kgen.data.pipeline import load_epochs

    pipeline, _ = load_epochs(str(idx_dir), batch_size=8)
    for dataset in (pipeline.epoch(0), pipeline.epoch(1, skip=2), pipeline.reshuffling()):
        assert dataset.options().autotune.enabled is False


def test_value_range_limit_and_resize(idx_dir):
    dataset, info = load_dataset(str(idx_dir), batch_size=4, value_range=(0.0, 1.0), limit=10, image_size=8)
    x = np.concatenate(list(dataset))
    assert info.num_examples == 10 and x.shape == (8, 8, 8, 1)
    assert x.min() >= 0.0 and x.max() <= 1.0


def test_translation_moves_content_and_fills_with_background(idx_dir):
    plain = next(iter(load_dataset(str(idx_dir), batch_size=48, shuffle=False)[0])).numpy()
    shifted = next(iter(load_dataset(str(idx_dir), batch_size=48, shuffle=False, translate=0.2)[0])).numpy()
    assert shifted.shape == plain.shape and shifted.min() >= -1.0
    assert not np.allclose(plain, shifted)


def test_idx_directory_without_test_split(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(tiny_images(8)[..., 0]))
    with pytest.raises(DataError, match="No test images"):
        load_dataset(str(tmp_path), batch_size=4, split="test")


# --------------------------------------------------------------------------------------- image folder
def test_image_folder_recursive_mixed_sizes(image_folder):
    dataset, info = load_dataset(str(image_folder), batch_size=5, image_size=16, value_range=(0.0, 1.0))
    assert info.num_examples == 10 and info.image_shape == (16, 16, 3) and not info.has_labels
    assert np.concatenate(list(dataset)).shape == (10, 16, 16, 3)


def test_image_folder_has_no_test_split(image_folder):
    with pytest.raises(DataError, match="has no test split"):
        load_dataset(str(image_folder), batch_size=5, image_size=16, split="test")


def test_image_folder_of_one_size_keeps_it_and_mixed_sizes_need_image_size(image_folder):
    message = r"2 different sizes \(e.g. .*img0.png is 20×20, .*img3.jpg is 24×32\).*--image-size"
    with pytest.raises(DataError, match=message):
        load_dataset(str(image_folder), batch_size=5)
    (image_folder / "img3.jpg").unlink()
    _, info = load_dataset(str(image_folder), batch_size=3)
    assert info.image_shape == (20, 20, 3)


def test_image_folder_mixing_grayscale_and_colour_is_an_error(image_folder):
    import tensorflow as tf

    (image_folder / "gray.png").write_bytes(tf.io.encode_png(tiny_images(1, size=20)[0]).numpy())
    with pytest.raises(DataError, match="mix grayscale and colour files .*gray.png"):
        load_dataset(str(image_folder), batch_size=5, image_size=16)


def test_corrupt_image_is_named(image_folder):
    (image_folder / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match="broken.png is corrupt"):
        load_dataset(str(image_folder), batch_size=5, image_size=16)


def test_empty_directory_and_directory_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        load_dataset(str(tmp_path / "empty"))
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="No images in"):
        load_dataset(str(tmp_path / "text"))


# ------------------------------------------------------------------------------------------ arrays
def test_npz_train_and_test_splits(npz_file):
    _, train = load_dataset(str(npz_file), batch_size=8)
    _, test = load_dataset(str(npz_file), batch_size=8, split="test")
    assert (train.num_examples, test.num_examples, train.has_labels) == (48, 16, True)


def test_npy_float_images(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, tiny_images(12).astype("float32") / 255.0)
    dataset, info = load_dataset(str(path), batch_size=4, value_range=(0.0, 1.0), shuffle=False)
    first = next(iter(dataset)).numpy()
    np.testing.assert_allclose(first, tiny_images(12)[:4] / 255.0, atol=1e-6)
    assert not info.has_labels


@pytest.mark.parametrize("array, message", [
    (np.zeros((4, 8), np.uint8), "expected \\[n, H, W\\]"),
    (np.zeros((4, 8, 8, 2), np.uint8), "C 1 or 3"),
    (np.zeros((4, 8, 8), np.int32), "dtype int32"),
    (np.full((4, 8, 8), 3.0, np.float32), "outside \\[0, 1\\]"),
])
def test_bad_arrays_are_data_errors(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=message):
        load_dataset(str(path), batch_size=2)


def test_npz_without_image_key(tmp_path):
    np.savez(tmp_path / "x.npz", something=np.zeros(3))
    with pytest.raises(DataError, match="expected one of the keys"):
        load_dataset(str(tmp_path / "x.npz"))


def test_fewer_examples_than_one_batch(npz_file):
    with pytest.raises(DataError, match="fewer than one batch"):
        load_dataset(str(npz_file), batch_size=100)


# ------------------------------------------------------------------------------------------- specs
def test_missing_spec_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "nope"))
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(DataError, match="not a .npz or .npy"):
        load_dataset(str(tmp_path / "x.txt"))


def test_dataset_names_resolve_local_first(idx_dir, monkeypatch):
    monkeypatch.setenv("KGEN_DATA_DIR", str(idx_dir.parent))
    idx_dir.rename(idx_dir.parent / "mnist")
    _, info = load_dataset("mnist", batch_size=8)
    assert "mnist" in info.description and info.num_examples == 48


def test_offline_without_local_copy_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(sources, "network_reachable", lambda *a, **k: False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    start = time.monotonic()
    with pytest.raises(DataError, match=r"No local copy of 'cifar10' and no network.*KGEN_DATA_DIR"):
        load_dataset("cifar10")
    assert time.monotonic() - start < 30


def test_network_probe_answers_quickly_for_an_unroutable_address():
    start = time.monotonic()
    assert sources.network_reachable(("127.0.0.1", 9), timeout=1.0) is False
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("name, size, shape, labelled", [("cifar10", None, (32, 32, 3), True),
                                                         ("celeb_a", 64, (64, 64, 3), False)])
def test_tensorflow_datasets_path_without_download(name, size, shape, labelled, tmp_path, monkeypatch):
    """The tfds branch on tfds' own mock data (no files, no network): shapes, labels, resizing."""
    import tensorflow_datasets as tfds

    monkeypatch.setenv("KGEN_DATA_DIR", str(tmp_path))  # no local copy
    monkeypatch.setattr(sources, "SYSTEM_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(sources, "network_reachable", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=12):
        dataset, info = load_dataset(name, batch_size=4, image_size=size, labels=True)
        x, y = next(iter(dataset))
    assert info.image_shape == shape and x.shape == (4,) + shape and info.has_labels == labelled
    assert info.num_examples == 12 and "tensorflow-datasets" in info.description
    assert float(x.numpy().min()) >= -1.0 and float(x.numpy().max()) <= 1.0


def test_idx_files_named_with_a_dot_are_found(idx_dir):
    """Copies of MNIST often come as train-images.idx3-ubyte (a dot where LeCun's names have a dash)."""
    for path in list(idx_dir.iterdir()):
        path.rename(idx_dir / path.name.replace("-idx", ".idx"))
    _, info = load_dataset(str(idx_dir), batch_size=8, split="test")
    assert info.num_examples == 16 and info.has_labels
