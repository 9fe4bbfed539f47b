"""Writing files so that a crash or an error never leaves a half-written one behind.

Every file kgen writes goes through :func:`atomic_path`: the content is written to a temporary name in
the same directory, flushed to disk, and renamed over the target in one step. Readers see the old
file or the new one, never a mix; on an error — a full disk included — the temporary file is removed,
the old file stays, and a :class:`WriteError` says which file, why, and how much space it needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil

CACHE_ENV = "KGEN_CACHE"


def user_cache_dir():
    """kgen's cache directory: ``$KGEN_CACHE``, else ``$XDG_CACHE_HOME/kgen``, else ``~/.cache/kgen``."""
    if os.environ.get(CACHE_ENV):
        return os.environ[CACHE_ENV]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser(os.path.join("~", ".cache")), "kgen")


class WriteError(OSError):
    """A file could not be written (a full disk, no permission, …): its previous version is intact. The
    message names the file, the reason, the space it needed (when known) and the space free."""


def _megabytes(size):
    return f"{size / 1e6:.1f} MB"


def _write_error(path, tmp, error, needed):
    written = os.path.getsize(tmp) if os.path.isfile(tmp) else 0
    try:
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    except OSError:
        free = None
    space = f"it needs {_megabytes(max(needed or 0, written))}" if needed else f"{_megabytes(written)} were written"
    space += f", {_megabytes(free)} are free there" if free is not None else ""
    failure = WriteError(f"Could not write {path}: {error.strerror or error} ({space}); the previous version of "
                         "the file, if any, is intact.")
    failure.errno = error.errno
    return failure


def _publish(tmp, path):
    """Put the finished temporary file in place (one rename: readers see the old file or the new one)."""
    os.replace(tmp, path)


@contextlib.contextmanager
def atomic_path(path, suffix="", needed=None):
    """Yield a temporary path beside ``path``; when the block ends without error, move it to ``path``.

    For writers that take a file name (``model.save``, ``np.savez``, ``save_weights``): write to the
    yielded path; ``suffix`` keeps an extension such writers insist on (``".keras"``, ``".npz"``).
    The directory of ``path`` is created if needed. A regular file is flushed to disk before the
    rename (a directory is renamed as it is). ``needed``: the file's expected size in bytes, for the
    message of a :class:`WriteError`.

    Raises:
        WriteError: an ``OSError`` while writing (e.g. ``ENOSPC``); nothing of the new file is left.

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
        _publish(tmp, path)
    except WriteError:
        raise
    except OSError as e:
        raise _write_error(path, tmp, e, needed) from e
    finally:
        if os.path.isdir(tmp) and not os.path.islink(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.lexists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_write(path, mode="w", needed=None):
    """Open a temporary file beside ``path`` for writing (``mode`` ``"w"`` or ``"wb"``); it replaces
    ``path`` when the block ends without error (see :func:`atomic_path`)."""
    with atomic_path(path, needed=needed) as tmp, open(tmp, mode) as f:
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
