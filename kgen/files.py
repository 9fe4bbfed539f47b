"""Writing files so that a crash or an error never leaves a half-written one behind.

Every file kgen writes goes through :func:`atomic_path`: the content is written to a temporary name in
the same directory, flushed to disk, and renamed over the target in one step. Readers see the old
file or the new one, never a mix; on an error the temporary file is removed and the old file stays.
"""

from __future__ import annotations

import contextlib
import json
import os

CACHE_ENV = "KGEN_CACHE"


def user_cache_dir():
    """kgen's cache directory: ``$KGEN_CACHE``, else ``$XDG_CACHE_HOME/kgen``, else ``~/.cache/kgen``."""
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser(os.path.join("~", ".cache")), "kgen")


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path``; when the block ends without error, move it to ``path``.

    For writers that take a file name (``model.save``, ``np.savez``, ``save_weights``): write to the
    yielded path; ``suffix`` keeps an extension such writers insist on (``".keras"``, ``".npz"``).
    The directory of ``path`` is created if needed. A regular file is flushed to disk before the
    rename (a directory is renamed as it is).

    Example:
        >>> with atomic_path("out/model.keras", suffix=".keras") as tmp:  # doctest: +SKIP
        ...     model.save(tmp)
    """
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".tmp-{os.getpid()}-{os.path.basename(path)}{suffix}")
    try:
        yield tmp
        if os.path.isfile(tmp):
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.lexists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Open a temporary file beside ``path`` for writing (``mode`` ``"w"`` or ``"wb"``); it replaces
    ``path`` when the block ends without error (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def write_json(path, data):
    """Write ``data`` as indented, key-sorted JSON to ``path``, atomically."""
    with atomic_write(path) as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def read_json(path):
    """The JSON value in the file ``path``."""
    with open(path) as f:
        return json.load(f)
