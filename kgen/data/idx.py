"""Reader of the IDX format of MNIST and Fashion-MNIST (``*-idx3-ubyte[.gz]``), with validation."""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from kgen.data.errors import DataError

# Type byte of the IDX header → NumPy dtype (big-endian, as the format stores them).
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into a NumPy array.

    Args:
        path: path of a ``.idx*-ubyte`` or ``.idx*-ubyte.gz`` file.

    Returns:
        Array with the shape and dtype the header declares (native byte order).

    Raises:
        DataError: the file cannot be read, has a wrong magic number, or its length does not match
            the header.
    """
    path = str(path)
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"Cannot read IDX file {path}: {e}") from None
    return parse_idx(raw, path)


def parse_idx(raw, name="<bytes>"):
    """Parse the bytes of an IDX file; see :func:`read_idx`."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES or raw[3] == 0:
        raise DataError(
            f"{name} is not an IDX file: expected a magic number 0x0000TTNN (TT a type code, NN ≥ 1 "
            f"dimensions), got 0x{raw[:4].hex() or '(empty)'}."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name} is truncated: its header declares {ndim} dimensions but the file has "
                        f"{len(raw)} bytes.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{name} has {len(raw)} bytes but its header (shape {shape}, {dtype.name}) needs {expected}."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
