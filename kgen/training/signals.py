"""Stopping training cleanly on Ctrl-C and SIGTERM: the first signal asks the loop to stop between steps
(after a checkpoint), a second one ends the process at once, even inside a long TensorFlow op."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading

EXIT_INTERRUPTED = 130  # the exit status of a process stopped by a second signal (as shells report Ctrl-C)


@contextlib.contextmanager
def stop_signals():
    """Within the context, SIGINT and SIGTERM set a flag (read ``flag["signal"]``) instead of raising, so
    the loop can stop between steps with a checkpoint. A second signal stops the process at once.

    A second signal must work even while the main thread is inside one long TensorFlow op, where no
    Python signal handler can run: the signals are also written to a wakeup fd (``signal.set_wakeup_fd``)
    that a watcher thread reads as they arrive; on the second one it prints a line and ends the
    process (``os._exit``, status 130). Checkpoints are written to a temporary name and renamed, so the
    last complete one is intact. A SIGINT that was ignored when the context began (a background job,
    ``nohup``) stays ignored; the handlers in force before are restored afterwards.

    Yields:
        A dict whose ``"signal"`` is ``None`` or the name of the first signal received.
    """
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread
        return

    def handler(number, frame):
        if flag["signal"] is not None and number == signal.SIGINT:
            raise KeyboardInterrupt
        flag["signal"] = signal.Signals(number).name

    watched = [s for s in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {s: signal.signal(s, handler) for s in watched}
    watcher = _SecondSignalWatcher(watched)
    try:
        yield flag
    finally:
        watcher.stop()
        for s, h in previous.items():
            signal.signal(s, h)


class _SecondSignalWatcher:
    """A thread that ends the process on the second of ``signals`` it sees through the wakeup fd."""

    def __init__(self, signals):
        self.signals = {int(s) for s in signals}
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._watch, name="kgen-second-signal", daemon=True)
        self._thread.start()

    def _watch(self):
        seen = 0
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:  # stop() closed the pair
                return
            seen += sum(1 for number in data if number in self.signals)
            if seen >= 2:
                os.write(2, b"\nkgen: second signal: stopping now; the last checkpoint is kept (run the same "
                            b"command again to resume from it).\n")
                os._exit(EXIT_INTERRUPTED)

    def stop(self):
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.close()
        self._thread.join(timeout=5)
        self._reader.close()
