"""Stores recorded by earlier versions of an adapter, kept as SQL text (fixtures/NAME.sql).

Each was written by the code of its time (fixtures/make_NAME.py says how) and dumped with
``sqlite3``'s ``iterdump``, so the repository holds reviewable text rather than a database file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def restore(name: str, kitaru_home: Path) -> None:
    """Write the recorded store ``name`` as ``kitaru_home/kitaru.db``."""
    kitaru_home.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(kitaru_home / "kitaru.db")
    try:
        connection.executescript((FIXTURES / f"{name}.sql").read_text())
    finally:
        connection.close()
