"""Shared fixtures: tiny data files written by the tests themselves (never a download)."""

import gzip
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Feature caches of the shipped evaluators go to $KGEN_CACHE: a fresh directory, never the user's ~/.cache.
os.environ["KGEN_CACHE"] = tempfile.mkdtemp(prefix="kgen-test-cache-")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TINY = 16  # image side used throughout the tests
FAST = ["--latent-dim", "4", "--width", "4", "--batch-size", "8", "--no-jit"]  # tiny `kgen fit` settings


def run(args, cwd):
    """Invoke the kgen CLI in ``cwd`` through click's CliRunner; return the result (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from kgen.cli.main import cli

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        os.chdir(old)


def assert_one_line_error(result, *fragments):
    """The command failed with exactly one ``Error: …`` line holding each fragment, and no traceback."""
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output + result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def idx_bytes(array, type_code=0x08):
    """Encode an array in the IDX format (big-endian header)."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def tiny_images(n, size=TINY, channels=1, seed=0):
    """Blobs on a dark background: uint8 [n, size, size, channels]."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size]
    images = np.zeros((n, size, size, channels), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(size * 0.3, size * 0.7, 2).tolist() + [rng.uniform(2, size / 3)]
        images[i, (yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = rng.randint(128, 256)
    return images


@pytest.fixture
def idx_dir(tmp_path):
    """A Fashion-MNIST-like directory: gzip'd train and t10k IDX files with labels."""
    d = tmp_path / "idx"
    d.mkdir()
    for prefix, n in (("train", 48), ("t10k", 16)):
        images = tiny_images(n, seed=n)[..., 0]
        with gzip.open(d / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(idx_bytes(images))
        (d / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(n, dtype=np.uint8) % 10))
    return d


@pytest.fixture
def npz_file(tmp_path):
    """A .npz with x_train/y_train and x_test/y_test of 16×16 grayscale images."""
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=tiny_images(48), y_train=np.arange(48) % 10, x_test=tiny_images(16, seed=1),
             y_test=np.arange(16) % 10)
    return path


@pytest.fixture
def image_folder(tmp_path):
    """A folder tree of PNG and JPEG files of mixed sizes (RGB)."""
    import tensorflow as tf

    d = tmp_path / "images"
    (d / "sub").mkdir(parents=True)
    for i, image in enumerate(tiny_images(10, size=20, channels=3)):
        target = d / ("sub" if i % 2 else "") / f"img{i}.png"
        if i == 3:  # a non-square, larger one, and a JPEG
            image = np.pad(image, ((0, 4), (2, 10), (0, 0)))
            target = d / "img3.jpg"
            target.write_bytes(tf.io.encode_jpeg(image).numpy())
            continue
        target.write_bytes(tf.io.encode_png(image).numpy())
    return d
