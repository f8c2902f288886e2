"""The SQL store: SQLAlchemy Core on SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from kitaru_core.errors import (
    ArtifactNotFound,
    ExecutionExists,
    ExecutionNotFound,
    ExecutionTakenOver,
    MissingExtraError,
    NotAKitaruStore,
    StoreError,
)
from kitaru_core.store import _schema as t
from kitaru_core.store._migrations import ensure_schema
from kitaru_core.store._records import (
    FINISHED_STATUSES,
    AdapterRecord,
    ArtifactRecord,
    ExecutionRecord,
    LogRecord,
    OperationRecord,
    StartedRecord,
    TokenRecord,
    WaitRecord,
)
from kitaru_core.store._sql_deployments import SqlDeployments
from kitaru_core.store._store import Store
from kitaru_core.store._store_errors import translate_errors

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

    def __init__(
        self, engine: sa.Engine, table: sa.Table, columns: tuple[str, ...], *, fenced: bool = False
    ) -> None:
        dialect = engine.dialect
        if fenced:
            compiled = _fenced_insert(table, columns, dialect).compile(dialect=dialect)
        else:
            compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup else None
        )
        if fenced and self.order is not None:
            assert self.order[-len(_FENCE) :] == _FENCE, self.order
            self.order = self.order[: -len(_FENCE)]
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

    def fenced_params(self, record: Any, owner: str) -> Any:
        """:meth:`params` of a statement built with ``fenced=True``: ``record`` is written by
        run ``record.run_no`` of ``owner``."""
        values = self.params(record)
        fence = (record.exec_id, record.run_no, owner)
        if self.order:
            return (*values, *fence)
        return {**values, **dict(zip(_FENCE, fence, strict=True))}


_FENCE = ("fence_exec_id", "fence_run_no", "fence_owner")


def _fenced_insert(table: sa.Table, columns: tuple[str, ...], dialect: sa.Dialect) -> Any:
    """``INSERT ... SELECT`` of one row that inserts nothing unless run ``fence_run_no`` of
    ``fence_owner`` still holds execution ``fence_exec_id`` (or that very run was cancelled, so
    what it did is kept): the owner check rides in the hot-path statement itself.

    On PostgreSQL the execution row is share-locked until the insert commits, so a takeover
    (an UPDATE of that row) waits for it and then sees the row it wrote.
    """
    cast = dialect.name == "postgresql"  # its SELECT list types bare parameters as text
    values = [
        sa.cast(sa.bindparam(name), table.c[name].type) if cast else sa.bindparam(name)
        for name in columns
    ]
    e = t.executions.c
    exec_id = sa.bindparam(_FENCE[0], type_=sa.String())
    run_no = sa.bindparam(_FENCE[1], type_=sa.Integer())
    owner = sa.bindparam(_FENCE[2], type_=sa.String())
    cancelled = sa.and_(e.owner.is_(None), e.status == sa.literal_column("'cancelled'"))
    owned = (
        sa.select(sa.literal_column("1"))
        .where(e.exec_id == exec_id, e.run_count == run_no, sa.or_(e.owner == owner, cancelled))
        .with_for_update(read=True)
        .exists()
    )
    return table.insert().from_select(list(columns), sa.select(*values).where(owned))


def _sqlite_path(url: sa.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_read_only(url: str) -> bool:
    """Whether the SQLite store at ``url`` exists but this process cannot write it.

    ``os.access`` answers for file modes, read-only mounts and the immutable attribute (which
    stops root as well); such a store is opened read-only, so it can still be listed and read.
    """
    parsed = sa.make_url(url)
    path = _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is None or not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _read_only_connector(path: Path) -> Any:
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(path))}?mode=ro"
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        # A WAL database needs its -shm file, which cannot be created here; with none there,
        # no process has the store open, and SQLite may read the file as it is.
        uri += "&immutable=1"
    return lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


def make_engine(url: str, durability: str, *, read_only: bool = False) -> sa.Engine:
    """An engine tuned for the store: WAL and the chosen fsync policy on SQLite.

    Driver errors come out as :class:`StoreError` subclasses (see ``_store_errors``).
    """
    engine = _make_engine(url, durability, read_only=read_only)
    translate_errors(engine, sa.make_url(url).render_as_string(hide_password=True))
    return engine


def _make_engine(url: str, durability: str, *, read_only: bool) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the folder of the SQLite store {path}: {exc}. Point "
                    "KITARU_HOME or KITARU_STORE_URL at a path inside a folder you can write."
                ) from exc
        # Every thread that records operations holds a pooled connection (see _HotInsert), so
        # the pool must not cap how many threads a flow fans checkpoints out to.
        options: dict[str, Any] = {}
        if read_only and path is not None:
            options["creator"] = _read_only_connector(path)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": 30, "check_same_thread": False},
            max_overflow=-1,
            **options,
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


class SqlStore(SqlDeployments, Store):
    """Store on any SQLAlchemy engine whose schema Kitaru's migrations manage."""

    def __init__(self, url: str, durability: str = "process") -> None:
        self.url = url
        self._where = sa.make_url(url).render_as_string(hide_password=True)
        self.read_only = sqlite_read_only(url)
        self._engine = make_engine(url, durability, read_only=self.read_only)
        self._write_lock = threading.Lock()
        self._held = threading.local()
        try:
            ensure_schema(self._engine, self._where, read_only=self.read_only)
            if self._engine.dialect.name == "sqlite" and not self.read_only:
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
        self._insert_owned_op = _HotInsert(self._engine, t.operations, _OP_COLUMNS, fenced=True)
        self._insert_log = _HotInsert(self._engine, t.logs, _LOG_COLUMNS)
        self._text_refuses_nul = self._engine.dialect.name == "postgresql"
        self._insert_commits_alone = self._engine.dialect.name == "postgresql"

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def close(self) -> None:
        self._drop_held()
        self._engine.dispose()

    def release_thread(self) -> None:
        self._drop_held()

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
        try:
            with self._engine.begin() as conn:
                conn.execute(t.executions.insert(), _row_values(record, _EXEC_COLUMNS))
        except sa.exc.IntegrityError as exc:
            if self._execution_exists(record.exec_id):
                raise ExecutionExists(record.exec_id) from exc
            raise

    def _execution_exists(self, exec_id: str) -> bool:
        c = t.executions.c
        with self._engine.connect() as conn:
            found = conn.execute(sa.select(c.exec_id).where(c.exec_id == exec_id)).first()
        return found is not None

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(t.executions).where(t.executions.c.exec_id == exec_id)
            ).first()
        if row is None:
            raise ExecutionNotFound(exec_id)
        return _to_record(ExecutionRecord, row)

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: str | None = None,
        limit: int = 50,
        parent: str | None = None,
    ) -> list[ExecutionRecord]:
        query = sa.select(t.executions).order_by(t.executions.c.exec_id.desc()).limit(limit)
        if parent is not None:
            query = query.where(t.executions.c.parent_exec_id == parent)
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

    def suspend_execution(
        self, exec_id: str, wait_id: str, *, expected_owner: str, **fields: Any
    ) -> bool:
        if "metadata" in fields and not fields["metadata"]:
            fields["metadata"] = None
        c, w = t.executions.c, t.waits.c
        the_wait = sa.and_(w.exec_id == exec_id, w.wait_id == wait_id)
        answered = sa.exists().where(the_wait, w.status != "pending")
        status = sa.case((answered, "queued"), else_="waiting")
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Lock the wait row first: an answer given meanwhile either committed before
                # (and is seen below) or waits for this commit (and then finds it ``waiting``).
                conn.execute(sa.select(w.status).where(the_wait).with_for_update())
            query = (
                t.executions.update()
                .where(c.exec_id == exec_id, c.owner == expected_owner)
                .values(**{**fields, "status": status})
            )
            return conn.execute(query).rowcount == 1

    def find_child(self, parent_exec_id: str, parent_op_id: str) -> ExecutionRecord | None:
        c = t.executions.c
        query = (
            sa.select(t.executions)
            .where(c.parent_exec_id == parent_exec_id, c.parent_op_id == parent_op_id)
            .order_by(c.exec_id)
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _to_record(ExecutionRecord, row)

    def suspend_on_children(
        self, exec_id: str, children: Sequence[str], *, expected_owner: str, **fields: Any
    ) -> bool:
        if "metadata" in fields and not fields["metadata"]:
            fields["metadata"] = None
        c = t.executions.c
        with self._engine.begin() as conn:
            # Lock the children first: one finishing meanwhile either committed before (and is
            # seen finished below) or commits after, and its wake_parent then sees this wait.
            _lock_rows(conn, list(children))
            statuses = conn.execute(
                sa.select(c.status).where(c.exec_id.in_(list(children)))
            ).scalars()
            pending = any(status not in FINISHED_STATUSES for status in statuses)
            query = (
                t.executions.update()
                .where(c.exec_id == exec_id, c.owner == expected_owner)
                .values(
                    **fields,
                    status="waiting" if pending else "queued",
                    awaiting=list(children) if pending else None,
                )
            )
            return conn.execute(query).rowcount == 1

    def wake_parent(self, exec_id: str) -> bool:
        c = t.executions.c
        with self._engine.begin() as conn:
            _lock_rows(conn, [exec_id])
            row = conn.execute(sa.select(c.status, c.awaiting).where(c.exec_id == exec_id)).first()
            if row is None or row.status != "waiting" or not row.awaiting:
                return False
            statuses = conn.execute(
                sa.select(c.status).where(c.exec_id.in_(list(row.awaiting)))
            ).scalars()
            if any(status not in FINISHED_STATUSES for status in statuses):
                return False
            conn.execute(_transition(exec_id, "queued", ("waiting",), {"updated_at": time.time()}))
        return True

    def transition(
        self, exec_id: str, *, to: str, from_statuses: Collection[str], **fields: Any
    ) -> bool:
        with self._engine.begin() as conn:
            return conn.execute(_transition(exec_id, to, from_statuses, fields)).rowcount == 1

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
                awaiting=None,
                started_at=sa.func.coalesce(c.started_at, time.time()),  # a queued one starts now
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
        # fetchall() takes them from the driver in one call; iterating the result would ask
        # psycopg for one row at a time, which costs more than building the records.
        c = t.operations.c
        query = sa.select(*(c[name] for name in _OP_FIELDS)).where(c.exec_id == exec_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(c.seq)).fetchall()
        records = [OperationRecord(*row) for row in rows]
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

    def record_operation(
        self, record: OperationRecord, logs: Sequence[LogRecord] = (), *, owner: str | None = None
    ) -> None:
        logs = self._storable_logs(logs)
        if owner is None:
            sql, params = self._insert_op.sql, self._insert_op.params(record)
        else:
            insert = self._insert_owned_op
            sql, params = insert.sql, insert.fenced_params(record, owner)
        # On PostgreSQL a lone INSERT commits by itself in one round trip to the server; the
        # BEGIN ... COMMIT around it would cost a second one (and the server's work is the same).
        alone = self._insert_commits_alone and not logs
        for last_try in (False, True):
            conn = self._held_connection()
            committing = False
            try:
                cursor = conn.cursor()
                if alone:
                    self._execute_alone(conn, cursor, sql, params)
                else:
                    cursor.execute(sql, params)
                if owner is not None and cursor.rowcount != 1:
                    cursor.close()
                    conn.rollback()
                    raise self._taken_over(record.exec_id)
                if logs:
                    cursor.executemany(
                        self._insert_log.sql, [self._insert_log.params(line) for line in logs]
                    )
                cursor.close()
                committing = True
                conn.commit()
                return
            except ExecutionTakenOver:
                raise
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

    @staticmethod
    def _execute_alone(conn: Any, cursor: Any, sql: str, params: Any) -> None:
        """Run one statement as its own transaction (the server commits it before answering).

        The connection goes back to explicit transactions at once: the pool hands it to code
        that relies on them. A retry after a dropped connection cannot write twice: the
        operation's (exec_id, op_id, attempt) is unique.
        """
        driver = conn.driver_connection
        driver.autocommit = True
        try:
            cursor.execute(sql, params)
        finally:
            if not driver.closed:
                driver.autocommit = False

    def _taken_over(self, exec_id: str) -> ExecutionTakenOver:
        record = self.get_execution(exec_id)
        return ExecutionTakenOver(exec_id, new_owner=record.owner, status=record.status)

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

    # adapter records ----------------------------------------------------------------------

    # API tokens -----------------------------------------------------------------------------

    def create_token(self, record: TokenRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(t.api_tokens.insert(), dataclasses.asdict(record))

    def list_tokens(self) -> list[TokenRecord]:
        query = sa.select(t.api_tokens).order_by(t.api_tokens.c.created_at)
        with self._engine.connect() as conn:
            return [TokenRecord(**row._mapping) for row in conn.execute(query)]

    def get_token(self, token_id: str) -> TokenRecord | None:
        query = sa.select(t.api_tokens).where(t.api_tokens.c.token_id == token_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return TokenRecord(**row._mapping) if row is not None else None

    def revoke_token(self, token_id: str, *, at: float) -> bool:
        c = t.api_tokens.c
        query = (
            t.api_tokens.update()
            .where(c.token_id == token_id, c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        with self._engine.begin() as conn:
            return bool(conn.execute(query).rowcount)

    def put_adapter_records(self, records: Sequence[AdapterRecord]) -> None:
        if not records:
            return
        c = t.adapter_records.c
        now = time.time()
        with self._engine.begin() as conn:
            for record in records:
                conn.execute(
                    t.adapter_records.delete().where(
                        c.namespace == record.namespace,
                        c.partition == record.partition,
                        c.key == record.key,
                    )
                )
            conn.execute(
                t.adapter_records.insert(),
                [{**dataclasses.asdict(r), "updated_at": now} for r in records],
            )

    def scan_adapter_records(
        self,
        namespace: str,
        partition: str | None,
        *,
        prefix: str = "",
        below: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[AdapterRecord]:
        c = t.adapter_records.c
        query = sa.select(c.namespace, c.partition, c.key, c.value, c.ref).where(
            c.namespace == namespace
        )
        if partition is not None:
            query = query.where(c.partition == partition)
        if prefix:
            query = query.where(sa.func.substr(c.key, 1, len(prefix)) == prefix)
        if below is not None:
            query = query.where(c.key < below)
        order = [c.partition, c.key]
        query = query.order_by(*(col.desc() for col in order) if newest_first else order)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [AdapterRecord(*row) for row in conn.execute(query)]

    def delete_adapter_records(self, namespace: str, partition: str, *, prefix: str = "") -> int:
        c = t.adapter_records.c
        query = t.adapter_records.delete().where(c.namespace == namespace, c.partition == partition)
        if prefix:
            query = query.where(sa.func.substr(c.key, 1, len(prefix)) == prefix)
        with self._engine.begin() as conn:
            return int(conn.execute(query).rowcount or 0)

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
        with self._engine.begin() as conn:
            return _close_wait(conn, exec_id, wait_id, status, value_codec, value)

    def answer_wait_and_queue(
        self,
        exec_id: str,
        wait_id: str,
        *,
        status: str,
        value_codec: str | None,
        value: bytes | None,
    ) -> bool:
        with self._engine.begin() as conn:
            if not _close_wait(conn, exec_id, wait_id, status, value_codec, value):
                return False
            conn.execute(_transition(exec_id, "queued", ("waiting",), {"updated_at": time.time()}))
        return True

    def reopen_wait(self, exec_id: str, wait_id: str, *, rejection: str) -> bool:
        c = t.waits.c
        with self._engine.begin() as conn:
            result = conn.execute(
                t.waits.update()
                .where(c.exec_id == exec_id, c.wait_id == wait_id, c.status == "answered")
                .values(
                    status="pending",
                    value_codec=None,
                    value=None,
                    answered_at=None,
                    rejection=self._storable_text(rejection),
                )
            )
        return result.rowcount == 1

    # adapter logs -------------------------------------------------------------------------

    def append_adapter_log(
        self,
        namespace: str,
        stream: str,
        items: Sequence[tuple[str | None, str]],
        *,
        at: float,
        replace: bool = False,
    ) -> None:
        c = t.adapter_log.c
        where = (c.namespace == namespace) & (c.stream == stream)
        with self._write_lock, self._engine.begin() as conn:
            if replace:
                conn.execute(t.adapter_log.delete().where(where))
            ids = [item_id for item_id, _ in items if item_id is not None]
            seen: set[str] = set()
            if ids and not replace:
                query = sa.select(c.item_id).where(where, c.item_id.in_(ids))
                seen = {row[0] for row in conn.execute(query)}
            rows = []
            for item_id, data in items:
                if item_id is not None:
                    if item_id in seen:
                        continue
                    seen.add(item_id)
                rows.append(
                    {
                        "namespace": namespace,
                        "stream": stream,
                        "item_id": item_id,
                        "data": data,
                        "created_at": at,
                    }
                )
            if rows:
                conn.execute(t.adapter_log.insert(), rows)

    def read_adapter_log(self, namespace: str, stream: str) -> list[str] | None:
        c = t.adapter_log.c
        query = sa.select(c.data).where(c.namespace == namespace, c.stream == stream)
        with self._engine.connect() as conn:
            texts = [row[0] for row in conn.execute(query.order_by(c.seq))]
        return texts or None

    def list_adapter_logs(self, namespace: str, prefix: str) -> list[tuple[str, float]]:
        c = t.adapter_log.c
        query = (
            sa.select(c.stream, sa.func.max(c.created_at))
            .where(c.namespace == namespace, c.stream.startswith(prefix, autoescape=True))
            .group_by(c.stream)
        )
        with self._engine.connect() as conn:
            return [(row[0], float(row[1])) for row in conn.execute(query)]

    def delete_adapter_logs(
        self, namespace: str, stream: str, *, prefix: str | None = None
    ) -> None:
        c = t.adapter_log.c
        which = c.stream == stream
        if prefix is not None:
            which = which | c.stream.startswith(prefix, autoescape=True)
        with self._write_lock, self._engine.begin() as conn:
            conn.execute(t.adapter_log.delete().where(c.namespace == namespace, which))

    def _storable_text(self, text: str) -> str:
        """PostgreSQL text cannot hold NUL: there it becomes U+FFFD."""
        return text.replace("\x00", "\ufffd") if self._text_refuses_nul else text


def _lock_rows(conn: sa.Connection, exec_ids: list[str]) -> None:
    """Take the write lock on these executions' rows (PostgreSQL) or the database (SQLite)
    for the rest of ``conn``'s transaction, with an update that changes nothing."""
    c = t.executions.c
    conn.execute(t.executions.update().where(c.exec_id.in_(exec_ids)).values(exec_id=c.exec_id))


def _transition(
    exec_id: str, to: str, from_statuses: Collection[str], fields: dict[str, Any]
) -> sa.Update:
    """Move ``exec_id`` to status ``to`` (setting ``fields``) if its status is one of
    ``from_statuses``."""
    c = t.executions.c
    return (
        t.executions.update()
        .where(c.exec_id == exec_id, c.status.in_(list(from_statuses)))
        .values(status=to, **fields)
    )


def _close_wait(
    conn: sa.Connection,
    exec_id: str,
    wait_id: str,
    status: str,
    value_codec: str | None,
    value: bytes | None,
) -> bool:
    """Close a pending wait inside ``conn``'s transaction; False when it was not pending."""
    c = t.waits.c
    result = conn.execute(
        t.waits.update()
        .where(c.exec_id == exec_id, c.wait_id == wait_id, c.status == "pending")
        .values(
            status=status,
            value_codec=value_codec,
            value=value,
            answered_at=time.time(),
            rejection=None,
        )
    )
    return result.rowcount == 1
