"""Copying what a flow prints or logs into the store, while still showing it."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, TextIO

from kitaru_core.engine import _context


class _Tee:
    """Stands in for sys.stdout/stderr: writes through, and hands lines to the current run."""

    def __init__(self, original: TextIO | None, stream: str) -> None:
        self._original = original  # None in a process without the stream (daemon, pythonw)
        self._stream = stream

    def write(self, text: str) -> int:
        written = self._original.write(text) if self._original is not None else len(text)
        run = _context.current_run()
        if run is not None and text:
            run.capture(self._stream, text)
        return written

    def flush(self) -> None:
        if self._original is not None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _LogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        run = _context.current_run()
        if run is not None:
            run.capture("log", f"{record.levelname} {record.name}: {record.getMessage()}\n")


_lock = threading.Lock()
_users = 0
_saved: tuple[Any, Any] | None = None
_handler = _LogHandler()


def start() -> None:
    """Begin capturing (reference counted across concurrent runs)."""
    global _users, _saved
    with _lock:
        _users += 1
        if _users == 1:
            _saved = (sys.stdout, sys.stderr)
            sys.stdout = _Tee(sys.stdout, "stdout")
            sys.stderr = _Tee(sys.stderr, "stderr")
            logging.getLogger().addHandler(_handler)


def stop() -> None:
    """Stop capturing when the last run ends; leaves streams others replaced alone."""
    global _users, _saved
    with _lock:
        _users -= 1
        if _users == 0 and _saved is not None:
            if isinstance(sys.stdout, _Tee):
                sys.stdout = _saved[0]
            if isinstance(sys.stderr, _Tee):
                sys.stderr = _saved[1]
            logging.getLogger().removeHandler(_handler)
            _saved = None
