"""What the server tests share besides fixtures (a module of its own: ``conftest`` is a name
every test folder has)."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

from kitaru_core._config import Settings
from kitaru_core.store._sql_store import SqlStore


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Served:
    """A running server: its URL, store, settings, a live token and everything it logged."""

    url: str
    store: SqlStore
    settings: Settings
    token: str
    home: Path
    logs: Records = field(repr=False, default_factory=Records)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
