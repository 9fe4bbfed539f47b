"""One writer per run or study directory: an exclusive OS lock (``flock``) on a file inside it, held for
the lifetime of the command that writes there and released by the kernel when the process ends, however
it ends (``kill -9`` leaves no stale lock).

Readers (``kgen sample``, ``eval``, ``export``) take no lock: every file a writer leaves is written whole
or not at all (:mod:`kgen.files`), so a reader sees the previous ``model.keras`` or the new one, and what
readers write (reports under ``eval/``, ``samples/sample_*.png``) is written whole too.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys

try:
    import fcntl
except ImportError:  # Windows: no flock; one writer is then the user's responsibility
    fcntl = None

LOCK_FILE = ".kgen-lock"
_held = {}  # real path of a directory → how many nested directory_lock blocks of this process hold it


class DirectoryBusy(OSError):
    """Another process writes into the directory; the message names it (PID and command)."""


def _holder(fd):
    """What the process holding the lock wrote into the lock file (``{}`` if unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 65536).decode() or "{}")
    except (OSError, ValueError):
        return {}


def _program():
    """How the user started this process: ``kgen`` for the command (also run as ``python -m kgen.cli.main``)."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return "kgen" if name in ("kgen", "main.py", "__main__.py") else name


@contextlib.contextmanager
def directory_lock(directory, what="writes into"):
    """Hold the exclusive lock of ``directory`` (created if needed) for the ``with`` block.

    Args:
        directory: a run or study directory.
        what: how the error names what the other process does there.

    Raises:
        DirectoryBusy: another process holds it; nothing in the directory was changed.

    Example:
        >>> with directory_lock("saved_models/my-run"):  # doctest: +SKIP
        ...     train_into("saved_models/my-run")
    """
    created_directory = not os.path.isdir(directory)
    os.makedirs(directory, exist_ok=True)
    key = os.path.realpath(directory)
    if fcntl is None or key in _held:  # no flock here, or this process holds it already (nested blocks)
        _held[key] = _held.get(key, 0) + 1
        try:
            yield
        finally:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
        return
    fd, created_file = _acquire(directory, what)
    path = os.path.join(directory, LOCK_FILE)
    try:
        command = " ".join([_program()] + sys.argv[1:])
        with contextlib.suppress(OSError):  # who holds it, for the error of a second writer; a full disk may refuse
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps({"pid": os.getpid(), "command": command,
                                     "since": datetime.datetime.now().isoformat(timespec="seconds")}).encode())
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            if created_file:  # leave the directory as it was found (a failed command writes nothing)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # still locked: a process waiting on this file sees it gone and retries
                    if created_directory and not os.listdir(directory):
                        os.rmdir(directory)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _acquire(directory, what):
    """Open and lock ``directory``'s lock file; ``(descriptor, whether this call created the file)``.

    A lock file can be deleted by its holder on release (see :func:`directory_lock`), so the lock is
    only ours if the file locked is still the one at the path; otherwise try again.
    """
    path = os.path.join(directory, LOCK_FILE)
    while True:
        created = not os.path.exists(path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            since = f", since {holder['since']}" if holder.get("since") else ""
            raise DirectoryBusy(
                f"{directory} is in use: process {holder.get('pid', '?')} ({holder.get('command', 'kgen')}{since}) "
                f"{what} it. Wait for it to end, or stop it (it resumes from its checkpoint), then run this again."
            ) from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd, created
        except FileNotFoundError:
            pass
        os.close(fd)
