"""Bring a SQL store's schema to the current Alembic head, refusing databases that are not ours."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from kitaru_core._schema import TABLE_NAMES
from kitaru_core.errors import NotAKitaruStore, StoreError

HEAD_REVISION = "0004_records"
KNOWN_REVISIONS = frozenset({"0001", "0002", "0003", "0004_records"})
VERSION_TABLE = "kitaru_alembic_version"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        except sa.exc.DBAPIError:
            conn.rollback()
            return None


def ensure_schema(engine: sa.Engine, where: str) -> None:
    """Apply pending migrations; ``where`` names the store in errors."""
    revision = _current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreError(
            f"The store at {where} has schema revision {revision!r}, newer than this Kitaru "
            f"knows ({HEAD_REVISION}). Upgrade Kitaru to use it."
        )
    if revision is None:
        existing = set(sa.inspect(engine).get_table_names())
        ours = existing & TABLE_NAMES
        if ours:
            raise NotAKitaruStore(
                f"The store at {where} has Kitaru tables ({', '.join(sorted(ours))}) but no "
                f"{VERSION_TABLE} table, so its schema is unknown. Nothing was changed; "
                "restore it from a backup or point Kitaru at another store."
            )
        if existing and engine.dialect.name == "sqlite":
            raise NotAKitaruStore(
                f"{where} is a SQLite database of another application "
                f"(tables: {', '.join(sorted(existing)[:5])}). Nothing was changed; "
                "point KITARU_HOME or KITARU_STORE_URL at a Kitaru store."
            )
    _upgrade(engine)


def _upgrade(engine: sa.Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
