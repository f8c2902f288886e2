"""The background flusher of one execution run: printed lines and long-running operations
reach the store every ``log_flush_seconds``, off the hot path, so a kill loses neither."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kitaru_core.engine._runtime import ExecutionRun


class Flusher:
    """A daemon thread calling ``run.flush()`` every interval until :meth:`stop`."""

    def __init__(self, run: ExecutionRun) -> None:
        self._run = run
        self._interval = run.settings.log_flush_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"kitaru-flush-{run.exec_id}", daemon=True
        )

    def start(self) -> None:
        """Begin flushing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop flushing and wait for a flush under way; idempotent. The run's final write
        (``ExecutionRun.finish_logs``) takes whatever is left."""
        self._stopping.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._run.flush()
            except Exception:  # a store hiccup: the lines stay pending for the next try
                continue
