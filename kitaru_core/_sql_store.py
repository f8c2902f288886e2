"""The SQL store: SQLAlchemy Core on SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from kitaru_core import _schema as t
from kitaru_core._migrations import ensure_schema
from kitaru_core._records import (
    ArtifactRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    StartedRecord,
    WaitRecord,
)
from kitaru_core._store import Store
from kitaru_core.errors import (
    ArtifactNotFound,
    ExecutionNotFound,
    MissingExtraError,
    NotAKitaruStore,
    StoreError,
)

R = TypeVar("R")


def _columns(cls: type, exclude: frozenset[str] = frozenset()) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in exclude)


_EXEC_COLUMNS = _columns(ExecutionRecord)
_OP_COLUMNS = _columns(OperationRecord, frozenset({"seq"}))
_OP_FIELDS = _columns(OperationRecord)
_LOG_COLUMNS = _columns(LogRecord)
_ARTIFACT_COLUMNS = _columns(ArtifactRecord)
_WAIT_COLUMNS = _columns(WaitRecord)
_STARTED_COLUMNS = _columns(StartedRecord)
_JSON_DEFAULTS = {"metadata": dict}


def _row_values(record: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in columns}
    if "metadata" in values and not values["metadata"]:
        values["metadata"] = None
    return values


def _to_record(cls: type[R], row: sa.Row[Any]) -> R:
    values = dict(row._mapping)
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}
    return cls(**values)


class _HotInsert:
    """An INSERT compiled once from the Core table, run on a pooled DBAPI connection per thread.

    Recording an operation is the hot path of every flow; skipping the per-call statement
    compilation and pool checkout of ``engine.begin()`` more than halves its overhead on SQLite.
    """

    def __init__(self, engine: sa.Engine, table: sa.Table, columns: tuple[str, ...]) -> None:
        compiled = table.insert().compile(dialect=engine.dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup else None
        )
        self.columns = self.order or columns
        self.json_columns = frozenset(
            c.name for c in table.columns if isinstance(c.type, sa.JSON) and c.name in columns
        )

    def params(self, record: Any) -> Any:
        """The record's values in the statement's parameter style; empty JSON is stored NULL."""
        values = {
            name: (json.dumps(value) if value else None) if name in self.json_columns else value
            for name in self.columns
            for value in (getattr(record, name),)
        }
        return tuple(values.values()) if self.order else values


def _sqlite_path(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str, durability: str) -> sa.Engine:
    """An engine tuned for the store: WAL and the chosen fsync policy on SQLite."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        # Every thread that records operations holds a pooled connection (see _HotInsert), so
        # the pool must not cap how many threads a flow fans checkpoints out to.
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": 30, "check_same_thread": False},
            max_overflow=-1,
        )
        synchronous = "FULL" if durability == "power" else "NORMAL"

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL is switched on by SqlStore once the file is known to be ours: it rewrites the
            # file header, and a database of another application must stay untouched.
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql":
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=-1)
        except ModuleNotFoundError as exc:
            raise MissingExtraError("postgres", "psycopg") from exc
    raise StoreError(f"Unsupported SQL store URL {url!r}: use sqlite:/// or postgresql+psycopg://.")


class SqlStore(Store):
    """Store on any SQLAlchemy engine whose schema Kitaru's migrations manage."""

    def __init__(self, url: str, durability: str = "process") -> None:
        self.url = url
        self._where = sa.make_url(url).render_as_string(hide_password=True)
        self._engine = make_engine(url, durability)
        self._write_lock = threading.Lock()
        self._held = threading.local()
        try:
            ensure_schema(self._engine, self._where)
            if self._engine.dialect.name == "sqlite":
                with self._engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        except StoreError:
            self._engine.dispose()
            raise
        except sa.exc.DatabaseError as exc:
            self._engine.dispose()
            if "not a database" in str(exc):
                raise NotAKitaruStore(
                    f"{self._where} is not a SQLite database (it may be another file or "
                    "corrupted). Nothing was changed; point KITARU_HOME or KITARU_STORE_URL "
                    "at a Kitaru store."
                ) from exc
            raise StoreError(f"Cannot open the store at {self._where}: {exc}") from exc
        except sa.exc.OperationalError as exc:
            self._engine.dispose()
            raise StoreError(f"Cannot open the store at {self._where}: {exc.orig}") from exc
        self._insert_op = _HotInsert(self._engine, t.operations, _OP_COLUMNS)
        self._insert_log = _HotInsert(self._engine, t.logs, _LOG_COLUMNS)
        self._text_refuses_nul = self._engine.dialect.name == "postgresql"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def close(self) -> None:
        self._drop_held()
        self._engine.dispose()

    def _held_connection(self) -> Any:
        conn = getattr(self._held, "conn", None)
        if conn is None or not conn.is_valid:
            conn = self._engine.raw_connection()
            self._held.conn = conn
        return conn

    def _drop_held(self, *, invalidate: bool = False) -> None:
        conn = getattr(self._held, "conn", None)
        self._held.conn = None
        if conn is not None:
            if invalidate:
                conn.invalidate()
            else:
                conn.close()

    # executions ---------------------------------------------------------------------------

    def create_execution(self, record: ExecutionRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(t.executions.insert(), _row_values(record, _EXEC_COLUMNS))

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.executions).where(t.executions.c.exec_id == exec_id)
            ).first()
        if row is None:
            raise ExecutionNotFound(exec_id)
        return _to_record(ExecutionRecord, row)

    def list_executions(
        self, *, flow: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[ExecutionRecord]:
        query = sa.select(t.executions).order_by(t.executions.c.exec_id.desc()).limit(limit)
        if flow is not None:
            query = query.where(t.executions.c.flow_name == flow)
        if status is not None:
            query = query.where(t.executions.c.status == status)
        with self._engine.connect() as conn:
            return [_to_record(ExecutionRecord, row) for row in conn.execute(query)]

    def count_executions(self) -> dict[str, int]:
        c = t.executions.c
        query = sa.select(c.status, sa.func.count()).group_by(c.status)
        with self._engine.connect() as conn:
            return {status: count for status, count in conn.execute(query)}

    def update_execution(
        self, exec_id: str, *, expected_owner: str | None = None, **fields: Any
    ) -> bool:
        if "metadata" in fields and not fields["metadata"]:
            fields["metadata"] = None
        c = t.executions.c
        query = t.executions.update().where(c.exec_id == exec_id).values(**fields)
        if expected_owner is not None:
            query = query.where(c.owner == expected_owner)
        with self._engine.begin() as conn:
            updated = conn.execute(query).rowcount == 1
        if not updated and expected_owner is None:
            raise ExecutionNotFound(exec_id)
        return updated

    def transition(
        self, exec_id: str, *, to: str, from_statuses: Collection[str], **fields: Any
    ) -> bool:
        c = t.executions.c
        query = (
            t.executions.update()
            .where(c.exec_id == exec_id, c.status.in_(list(from_statuses)))
            .values(status=to, **fields)
        )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def claim_execution(
        self,
        exec_id: str,
        *,
        owner: str,
        lease_expires_at: float,
        from_statuses: Collection[str],
        expected_owner: str | None,
        check_owner: bool,
    ) -> bool:
        c = t.executions.c
        query = (
            t.executions.update()
            .where(c.exec_id == exec_id, c.status.in_(list(from_statuses)))
            .values(
                status="running",
                owner=owner,
                lease_expires_at=lease_expires_at,
                run_count=c.run_count + 1,
                error=None,
            )
        )
        if check_owner:
            query = query.where(
                c.owner.is_(None) if expected_owner is None else c.owner == expected_owner
            )
        with self._engine.begin() as conn:
            return conn.execute(query).rowcount == 1

    def renew_leases(self, owner: str, exec_ids: Sequence[str], lease_expires_at: float) -> None:
        if not exec_ids:
            return
        c = t.executions.c
        with self._engine.begin() as conn:
            conn.execute(
                t.executions.update()
                .where(c.owner == owner, c.exec_id.in_(list(exec_ids)))
                .values(lease_expires_at=lease_expires_at)
            )

    # operations and logs ------------------------------------------------------------------

    def load_operations(self, exec_id: str) -> list[OperationRecord]:
        # Columns in field order and positional construction: resume loads thousands of rows.
        c = t.operations.c
        query = sa.select(*(c[name] for name in _OP_FIELDS)).where(c.exec_id == exec_id)
        with self._engine.connect() as conn:
            records = [OperationRecord(*row) for row in conn.execute(query.order_by(c.seq))]
        for record in records:
            if record.metadata is None:
                record.metadata = {}
        return records

    def _storable_logs(self, logs: Sequence[LogRecord]) -> Sequence[LogRecord]:
        """PostgreSQL text cannot hold NUL: there it is stored as U+FFFD, the rest as printed."""
        if not self._text_refuses_nul:
            return logs
        return [
            dataclasses.replace(line, line=line.line.replace("\x00", "\ufffd"))
            if isinstance(line.line, str) and "\x00" in line.line
            else line
            for line in logs
        ]

    def record_operation(self, record: OperationRecord, logs: Sequence[LogRecord] = ()) -> None:
        logs = self._storable_logs(logs)
        for last_try in (False, True):
            conn = self._held_connection()
            committing = False
            try:
                cursor = conn.cursor()
                cursor.execute(self._insert_op.sql, self._insert_op.params(record))
                if logs:
                    cursor.executemany(
                        self._insert_log.sql, [self._insert_log.params(line) for line in logs]
                    )
                cursor.close()
                committing = True
                conn.commit()
                return
            except BaseException as exc:
                dbapi_error = isinstance(exc, self._engine.dialect.loaded_dbapi.Error)
                dropped = dbapi_error and self._is_disconnect(exc, conn)
                if dropped:
                    self._drop_held(invalidate=True)
                else:
                    try:
                        conn.rollback()
                    except Exception:
                        self._drop_held(invalidate=True)
                if dropped and not committing and not last_try:
                    # The held connection skips the pool's pre-ping, so a server restart or an
                    # idle timeout shows up here; nothing was written: write on a new one.
                    continue
                if dbapi_error:
                    raise StoreError(
                        f"Cannot record operation {record.op_id!r} of execution "
                        f"{record.exec_id} in {self._where}: {exc}"
                    ) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _is_disconnect(self, exc: BaseException, conn: Any) -> bool:
        try:
            dialect = self._engine.dialect
            return bool(dialect.is_disconnect(exc, conn.dbapi_connection, None))  # type: ignore[arg-type]
        except Exception:
            return False

    def append_logs(self, logs: Sequence[LogRecord]) -> None:
        if not logs:
            return
        logs = self._storable_logs(logs)
        with self._engine.begin() as conn:
            conn.execute(t.logs.insert(), [_row_values(line, _LOG_COLUMNS) for line in logs])

    def write_progress(
        self,
        exec_id: str,
        logs: Sequence[LogRecord],
        started: Sequence[StartedRecord] = (),
        *,
        finished: bool = False,
    ) -> None:
        if not (logs or started or finished):
            return
        logs = self._storable_logs(logs)
        c = t.started.c
        with self._engine.begin() as conn:
            if logs:
                conn.execute(t.logs.insert(), [_row_values(line, _LOG_COLUMNS) for line in logs])
            if finished:
                conn.execute(t.started.delete().where(c.exec_id == exec_id))
            for record in started:
                # A flusher that saw the same attempt before (a retry of its write) replaces it.
                conn.execute(
                    t.started.delete().where(
                        c.exec_id == record.exec_id,
                        c.op_id == record.op_id,
                        c.attempt == record.attempt,
                    )
                )
                conn.execute(t.started.insert(), _row_values(record, _STARTED_COLUMNS))

    def load_started(self, exec_id: str) -> list[StartedRecord]:
        c = t.started.c
        query = sa.select(*(c[name] for name in _STARTED_COLUMNS)).where(c.exec_id == exec_id)
        with self._engine.connect() as conn:
            return [_to_record(StartedRecord, row) for row in conn.execute(query)]

    def get_logs(self, exec_id: str) -> list[LogRecord]:
        c = t.logs.c
        query = sa.select(*(c[name] for name in _LOG_COLUMNS)).where(c.exec_id == exec_id)
        with self._engine.connect() as conn:
            return [_to_record(LogRecord, row) for row in conn.execute(query.order_by(c.seq))]

    # artifacts ----------------------------------------------------------------------------

    def save_artifact(self, record: ArtifactRecord) -> ArtifactRecord:
        c = t.artifacts.c
        with self._write_lock, self._engine.begin() as conn:
            latest = conn.execute(
                sa.select(sa.func.max(c.version)).where(
                    c.exec_id == record.exec_id, c.name == record.name
                )
            ).scalar()
            record = dataclasses.replace(record, version=(latest or 0) + 1)
            conn.execute(t.artifacts.insert(), _row_values(record, _ARTIFACT_COLUMNS))
        return record

    def list_artifacts(
        self, *, exec_id: str | None = None, name: str | None = None, limit: int = 100
    ) -> list[ArtifactRecord]:
        c = t.artifacts.c
        query = sa.select(t.artifacts).order_by(c.created_at.desc(), c.version.desc())
        if exec_id is not None:
            query = query.where(c.exec_id == exec_id)
        if name is not None:
            query = query.where(c.name == name)
        with self._engine.connect() as conn:
            return [_to_record(ArtifactRecord, row) for row in conn.execute(query.limit(limit))]

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.artifacts).where(t.artifacts.c.artifact_id == artifact_id)
            ).first()
        if row is None:
            raise ArtifactNotFound(
                f"No artifact with id {artifact_id!r}. List them with `kitaru artifacts list`."
            )
        return _to_record(ArtifactRecord, row)

    # waits --------------------------------------------------------------------------------

    def create_wait(self, record: WaitRecord) -> None:
        c = t.waits.c
        with self._engine.begin() as conn:
            exists = conn.execute(
                sa.select(c.status).where(c.exec_id == record.exec_id, c.wait_id == record.wait_id)
            ).first()
            if exists is None:
                conn.execute(t.waits.insert(), _row_values(record, _WAIT_COLUMNS))

    def get_waits(self, exec_id: str) -> list[WaitRecord]:
        c = t.waits.c
        query = sa.select(t.waits).where(c.exec_id == exec_id).order_by(c.created_at)
        with self._engine.connect() as conn:
            return [_to_record(WaitRecord, row) for row in conn.execute(query)]

    def answer_wait(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        import time

        c = t.waits.c
        with self._engine.begin() as conn:
            result = conn.execute(
                t.waits.update()
                .where(c.exec_id == exec_id, c.wait_id == wait_id, c.status == "pending")
                .values(
                    status=status, value_codec=value_codec, value=value, answered_at=time.time()
                )
            )
        return result.rowcount == 1
