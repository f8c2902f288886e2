"""Health checks of a store: connection, integrity, schema revision and (on request) blob hashes.

Nothing is written: a SQLite store is opened read-only, migrations are not applied, and a store
that does not exist yet is not created.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from kitaru_core._config import Settings
from kitaru_core.errors import ArtifactCorrupted, ArtifactNotFound, KitaruError

INTEGRITY_LINES_SHOWN = 5
BLOBS_SHOWN = 10
_DIGEST = re.compile(r"[0-9a-f]{64}")
DAMAGED_ADVICE = "Restore it from a backup; `sqlite3 FILE .recover` may save what is readable."


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: its name, whether it passed, and what was found."""

    check: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data."""
        return asdict(self)


def diagnose(settings: Settings, *, blobs: bool = False) -> list[Finding]:
    """Run every check on the store of ``settings``; blob hashes only with ``blobs``."""
    from kitaru_core.store._builtin_stores import SQL_SCHEMES
    from kitaru_core.store._sql_store import _sqlite_path

    url = settings.stack.store_url
    if url.split(":", 1)[0].split("+", 1)[0] not in SQL_SCHEMES:
        return [Finding("store", True, f"{url}: no checks for this kind of store")]
    parsed = sa.make_url(url)
    path = _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.exists():
        return [Finding("store", True, f"no store at {path} yet; it is created on first use")]
    return list(_diagnose_sql(url, settings, blobs=blobs))


def _diagnose_sql(url: str, settings: Settings, *, blobs: bool) -> Iterator[Finding]:
    from kitaru_core.store._sql_store import make_engine

    try:
        engine = make_engine(url, settings.durability, read_only=url.startswith("sqlite"))
    except KitaruError as exc:
        yield Finding("connection", False, str(exc))
        return
    try:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except (KitaruError, sa.exc.DBAPIError) as exc:
            yield Finding("connection", False, _first_line(exc))
            return
        yield Finding("connection", True, f"{engine.dialect.name} store reachable")
        integrity = _integrity(engine)
        yield integrity
        if not integrity.ok:
            return  # a damaged file gives meaningless answers to the next checks
        schema = _schema(engine)
        yield schema
        if blobs and schema.ok:
            yield _blobs(engine, settings)
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _integrity(engine: sa.Engine) -> Finding:
    if engine.dialect.name != "sqlite":
        return Finding("integrity", True, "the server checks its own pages (connection is ok)")
    try:
        with engine.connect() as conn:
            rows = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA integrity_check")]
    except (KitaruError, sa.exc.DBAPIError) as exc:
        damage = _first_line(exc)
        return Finding(
            "integrity", False, f"the SQLite file is damaged: {damage}. {DAMAGED_ADVICE}"
        )
    if rows == ["ok"]:
        return Finding("integrity", True, "ok (PRAGMA integrity_check)")
    shown = "; ".join(rows[:INTEGRITY_LINES_SHOWN])
    more = (
        f" (and {len(rows) - INTEGRITY_LINES_SHOWN} more)"
        if len(rows) > INTEGRITY_LINES_SHOWN
        else ""
    )
    return Finding(
        "integrity",
        False,
        f"the SQLite file is damaged: {shown}{more}. {DAMAGED_ADVICE}",
    )


def _schema(engine: sa.Engine) -> Finding:
    from kitaru_core.store._migrations import (
        _MISSING,
        HEAD_REVISION,
        KNOWN_REVISIONS,
        VERSION_TABLE,
        current_revision,
    )
    from kitaru_core.store._schema import TABLE_NAMES

    try:
        revision = current_revision(engine)
        tables = set(sa.inspect(engine).get_table_names())
    except (KitaruError, sa.exc.DBAPIError) as exc:
        return Finding("schema", False, f"cannot read the schema: {_first_line(exc)}")
    expected = f"expected {HEAD_REVISION}"
    if revision == HEAD_REVISION:
        return Finding("schema", True, f"revision {revision} ({expected})")
    if revision == _MISSING:
        if tables & TABLE_NAMES or (tables and engine.dialect.name == "sqlite"):
            found = ", ".join(sorted(tables)[:5])
            return Finding("schema", False, f"no {VERSION_TABLE} table but tables ({found})")
        return Finding("schema", True, f"empty; the schema is created on first use ({expected})")
    if revision is None:
        return Finding("schema", False, f"the {VERSION_TABLE} table is empty ({expected})")
    if revision in KNOWN_REVISIONS:
        return Finding(
            "schema", True, f"revision {revision} ({expected}); upgraded when next opened"
        )
    return Finding("schema", False, f"revision {revision!r} is unknown to this Kitaru ({expected})")


def _referenced_blobs(engine: sa.Engine) -> dict[str, str]:
    """Every blob digest the store references, with one row that references it.

    Blobs are referenced from columns named ``ref`` or ``*_ref`` holding a SHA-256 digest, so
    a new column of that shape is checked without changing this function; ``snapshot`` columns
    hold the manifest blob of a deployed flow's code.
    """
    from kitaru_core.store import _schema as t

    found: dict[str, str] = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            has_exec = "exec_id" in table.c
            for column in table.c:
                if column.name not in ("ref", "snapshot") and not column.name.endswith("_ref"):
                    continue
                owner = table.c.exec_id if has_exec else sa.literal("")
                query = sa.select(column, owner).where(column.is_not(None))
                for digest, exec_id in conn.execute(query):
                    if not _DIGEST.fullmatch(str(digest)):
                        continue  # a ref that is not a blob (``flow_ref``: module:qualname)
                    found.setdefault(digest, f"{table.name}.{column.name} of {exec_id}")
    return found


def _blobs(engine: sa.Engine, settings: Settings) -> Finding:
    from kitaru_core.store._backends import open_blob_store

    try:
        references = _referenced_blobs(engine)
        store = open_blob_store(settings.stack.artifact_url)
    except (KitaruError, sa.exc.DBAPIError) as exc:
        return Finding("blobs", False, f"cannot list the blobs: {_first_line(exc)}")
    bad: list[str] = []
    for digest, where in sorted(references.items()):
        try:
            store.get(digest)
        except ArtifactCorrupted:
            bad.append(f"corrupted: {digest} ({where})")
        except ArtifactNotFound:
            bad.append(f"missing: {digest} ({where})")
    checked = f"{len(references)} blob(s) in {settings.stack.artifact_url} re-hashed"
    if not bad:
        return Finding("blobs", True, f"{checked}, all intact")
    shown = "; ".join(bad[:BLOBS_SHOWN])
    more = f"; and {len(bad) - BLOBS_SHOWN} more" if len(bad) > BLOBS_SHOWN else ""
    return Finding(
        "blobs",
        False,
        f"{checked}, {len(bad)} bad: {shown}{more}. Restore them from a backup, or replay the "
        "executions from the operations that produced them (storing the bytes again repairs "
        "the blob).",
    )
