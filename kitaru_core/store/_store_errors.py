"""Driver errors of a SQL store turned into StoreErrors that say which store and what to do.

Installed on every engine as a ``handle_error`` listener, so no store method lets a raw
``OperationalError`` (server down, connection dropped, file gone, read-only file) through.
Constraint violations and other errors that mean a bug are left as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kitaru_core.errors import StoreError, StoreReadOnly, StoreUnavailable

READ_ONLY_MARKERS = ("readonly database", "read-only", "read only")


def store_error(exc: BaseException, *, where: str) -> StoreError:
    """The StoreError a driver error of the store at ``where`` stands for."""
    lines = str(exc).strip().splitlines()
    detail = lines[0] if lines else type(exc).__name__
    if any(marker in detail.lower() for marker in READ_ONLY_MARKERS):
        return StoreReadOnly(
            f"The store at {where} is read-only ({detail}): it can be listed and read, not "
            "written. Give this process write access to the store (for SQLite: the file and its "
            "folder), or point KITARU_STORE_URL at a writable store."
        )
    return StoreUnavailable(
        f"The store at {where} is unreachable or failing ({detail}). Check that the database "
        "server is running and reachable (for SQLite: that the file and its folder exist and "
        "are accessible), then try again; a flow that was running when it failed continues "
        "with `kitaru executions resume ID`."
    )


def translate_errors(engine: sa.Engine, where: str) -> None:
    """Raise :func:`store_error` for operational and connection errors on ``engine``."""
    dbapi = engine.dialect.loaded_dbapi

    @sa.event.listens_for(engine, "handle_error")
    def _translate(context: Any) -> None:
        if context.is_pre_ping:
            return  # the pool reconnects on its own
        original = context.original_exception
        if context.is_disconnect or isinstance(original, dbapi.OperationalError):
            raise store_error(original, where=where) from original
