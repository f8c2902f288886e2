"""Bring a SQL store's schema to the current Alembic head, refusing databases that are not ours.

An upgrade is one transaction, serialized between processes: on SQLite under ``BEGIN
IMMEDIATE`` (the driver is told not to manage transactions, because it would run each DDL
statement in a transaction of its own), on PostgreSQL under a transaction-scoped advisory lock.
The revision is read again once the lock is held, so processes opening a fresh store at once
migrate it exactly once, and a process killed mid-upgrade leaves the store as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from kitaru_core.errors import NotAKitaruStore, StoreError
from kitaru_core.store._schema import TABLE_NAMES

HEAD_REVISION = "0010"
KNOWN_REVISIONS = frozenset(
    {"0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"}
)
VERSION_TABLE = "kitaru_alembic_version"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
ADVISORY_LOCK_KEY = 0x6B697461727500  # "kitaru" + 0: the PostgreSQL lock migrations take

_MISSING = "missing"
"""The revision of a database without a version table."""


def read_revision(conn: sa.Connection) -> str | None:
    """The schema revision, ``None`` when the version table is empty, or :data:`_MISSING`."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return _MISSING
    query = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")
    revision: str | None = conn.execute(query).scalar()
    return revision


def current_revision(engine: sa.Engine) -> str | None:
    """The schema revision of the database behind ``engine`` (see :func:`read_revision`)."""
    with engine.connect() as conn:
        return read_revision(conn)


def ensure_schema(engine: sa.Engine, where: str, *, read_only: bool = False) -> None:
    """Apply pending migrations; ``where`` names the store in errors."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    _refuse_unknown(revision, where)
    if read_only:
        raise StoreError(
            f"The store at {where} is read-only and its schema is at revision {revision} "
            f"(this Kitaru needs {HEAD_REVISION}). Open it once with write access to upgrade it."
        )
    with _migration_transaction(engine) as conn:
        revision = read_revision(conn)
        if revision == HEAD_REVISION:
            return  # another process migrated it while this one waited for the lock
        _refuse_unknown(revision, where)
        if revision == _MISSING:
            _refuse_foreign(conn, where)
        elif revision is None:
            _drop_unfinished_first_open(conn, where)
        _upgrade(conn)


def _refuse_unknown(revision: str | None, where: str) -> None:
    if revision not in (None, _MISSING) and revision not in KNOWN_REVISIONS:
        raise StoreError(
            f"The store at {where} has schema revision {revision!r}, newer than this Kitaru "
            f"knows ({HEAD_REVISION}). Upgrade Kitaru to use it."
        )


def _refuse_foreign(conn: sa.Connection, where: str) -> None:
    existing = set(sa.inspect(conn).get_table_names())
    ours = existing & TABLE_NAMES
    if ours:
        raise NotAKitaruStore(
            f"The store at {where} has Kitaru tables ({', '.join(sorted(ours))}) but no "
            f"{VERSION_TABLE} table, so its schema is unknown. Nothing was changed; "
            "restore it from a backup or point Kitaru at another store."
        )
    if existing and conn.dialect.name == "sqlite":
        raise NotAKitaruStore(
            f"{where} is a SQLite database of another application "
            f"(tables: {', '.join(sorted(existing)[:5])}). Nothing was changed; "
            "point KITARU_HOME or KITARU_STORE_URL at a Kitaru store."
        )


def _drop_unfinished_first_open(conn: sa.Connection, where: str) -> None:
    """An empty version table: what an older Kitaru killed during its first open left behind.

    Its tables are dropped to be built again, but only when none holds a row: data under an
    unknown schema is never touched.
    """
    ours = sorted(set(sa.inspect(conn).get_table_names()) & TABLE_NAMES)
    holding = [
        name
        for name in ours
        if conn.execute(sa.text(f"SELECT 1 FROM {name} LIMIT 1")).first() is not None
    ]
    if holding:
        raise NotAKitaruStore(
            f"The store at {where} has Kitaru tables holding data ({', '.join(holding)}) but "
            f"its {VERSION_TABLE} table is empty, so its schema is unknown. Nothing was changed; "
            "restore it from a backup or point Kitaru at another store."
        )
    for name in [*ours, VERSION_TABLE]:
        conn.execute(sa.text(f"DROP TABLE {name}"))


@contextmanager
def _migration_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction holding the store's migration lock; committed when the block ends."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
                yield conn
            return
        driver = conn.connection.driver_connection
        legacy = driver.isolation_level  # type: ignore[union-attr]
        # pysqlite opens transactions only before DML, so DDL would commit statement by
        # statement; with its transaction handling off, BEGIN IMMEDIATE spans the whole upgrade
        # and takes the write lock up front.
        driver.isolation_level = None  # type: ignore[union-attr]
        try:
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        finally:
            driver.isolation_level = legacy  # type: ignore[union-attr]


def _upgrade(conn: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
