"""Property-based tests: the IDX and array-file readers, fed random and mutated bytes, either read the
data or raise kgen's DataError — never another exception."""

import gzip
import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgen.data import DataError
from kgen.data.idx import parse_idx, read_idx
from kgen.data.sources import from_array_file

from conftest import idx_bytes, tiny_images

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
VALID_IDX = idx_bytes(tiny_images(3)[..., 0])


def npz_bytes():
    buffer = io.BytesIO()
    np.savez(buffer, x_train=tiny_images(3), y_train=np.arange(3))
    return buffer.getvalue()


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, tiny_images(3))
    return buffer.getvalue()


VALID_NPZ, VALID_NPY = npz_bytes(), npy_bytes()


@st.composite
def mutated(draw, original):
    """``original`` with some bytes flipped, a piece cut out or the end cut off, or bytes appended."""
    data = bytearray(original)
    kind = draw(st.sampled_from(["flip", "cut", "truncate", "append"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    elif kind == "cut":
        start = draw(st.integers(0, len(data) - 1))
        del data[start:start + draw(st.integers(1, 64))]
    elif kind == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    else:
        data += draw(st.binary(min_size=1, max_size=32))
    return bytes(data)


def read_array_bytes(raw, suffix):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "data" + suffix)
        with open(path, "wb") as f:
            f.write(raw)
        return from_array_file(path)


def test_the_unmutated_files_read():
    assert parse_idx(VALID_IDX).shape == (3, 16, 16)
    assert read_array_bytes(VALID_NPZ, ".npz").num_examples == 3
    assert read_array_bytes(VALID_NPY, ".npy").num_examples == 3


@FUZZ
@given(st.one_of(st.binary(max_size=2048), mutated(VALID_IDX)))
def test_idx_parser_reads_or_raises_data_error(raw):
    try:
        array = parse_idx(raw)
    except DataError:
        return
    assert isinstance(array, np.ndarray)


@FUZZ
@given(st.one_of(st.binary(max_size=512), mutated(gzip.compress(VALID_IDX))))
def test_gzipped_idx_reader_reads_or_raises_data_error(raw):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "train-images-idx3-ubyte.gz")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            read_idx(path)
        except DataError:
            pass


@FUZZ
@pytest.mark.parametrize("original, suffix", [(VALID_NPZ, ".npz"), (VALID_NPY, ".npy")])
@given(data=st.data())
def test_array_reader_reads_or_raises_data_error(original, suffix, data):
    raw = data.draw(st.one_of(st.binary(max_size=1024), mutated(original)))
    try:
        read_array_bytes(raw, suffix)
    except DataError:
        pass
