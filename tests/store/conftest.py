"""Store URLs for backend-parametrized tests: SQLite always, PostgreSQL when it is reachable.

PostgreSQL tests get one fresh database per session, ``kitaru_test_<random>``, created through
the ``test`` database of the server at ``KITARU_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kitaru_core.store import _backends
from kitaru_core.store._sql_store import SqlStore

ADMIN_URL = os.environ.get("KITARU_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresServer:
    """An autocommit admin connection that creates and drops throwaway databases."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._created: list[str] = []

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        name = f"kitaru_test_{secrets.token_hex(6)}"
        self._conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        url = sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.remove(name)

    def close(self) -> None:
        for name in list(self._created):
            self._conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._conn.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The PostgreSQL server, or a skip that says why it cannot be used."""
    psycopg = pytest.importorskip(
        "psycopg", reason="psycopg is not installed (pip install 'kitaru[postgres]')"
    )
    try:
        conn = psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL is unreachable at {ADMIN_URL}: {exc}")
    server = PostgresServer(conn)
    try:
        yield server
    finally:
        _backends.close_all()
        server.close()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> str:
    """The session's fresh PostgreSQL database."""
    return postgres.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A factory of URLs of brand-new, empty databases on each backend."""
    made: list[str] = []
    server: PostgresServer | None = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")

    def make() -> str:
        if server is None:
            url = f"sqlite:///{tmp_path / f'empty-{len(made)}.db'}"
        else:
            url = server.create_database()
        made.append(url)
        return url

    yield make
    _backends.close_all()
    if server is not None:
        for url in made:
            server.drop_database(url)


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    """An open :class:`SqlStore` on each backend (``store_url``), closed afterwards."""
    opened = SqlStore(store_url)
    try:
        yield opened
    finally:
        opened.close()
