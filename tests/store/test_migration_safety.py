"""Opening a store survives SIGKILL at any point and many processes opening it at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from kitaru_core.errors import NotAKitaruStore
from kitaru_core.store._migrations import HEAD_REVISION, MIGRATIONS_DIR, VERSION_TABLE
from kitaru_core.store._schema import TABLE_NAMES
from kitaru_core.store._sql_store import SqlStore
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

# A child that opens the store at argv[1]. With argv[2] (an SQL prefix) and argv[3] (a marker
# file), it stops right after the first statement starting with that prefix: the marker tells
# the parent where it is, and the parent kills it there.
OPENER = """
import sys, time
from pathlib import Path
import sqlalchemy as sa
from kitaru_core.store import _sql_store

url, prefix, marker = (sys.argv[1:] + ["", ""])[:3]
if prefix:
    make_engine = _sql_store.make_engine

    def pausing_engine(*args, **kwargs):
        engine = make_engine(*args, **kwargs)

        @sa.event.listens_for(engine, "after_cursor_execute")
        def pause(conn, cursor, statement, params, context, executemany):
            if statement.strip().upper().startswith(prefix.upper()):
                Path(marker).touch()
                time.sleep(120)

        return engine

    _sql_store.make_engine = pausing_engine
print("ready", flush=True)
if marker and not prefix:
    while not Path(marker).exists():
        time.sleep(0.0005)
_sql_store.SqlStore(url).close()
print("opened", flush=True)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def _start(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", OPENER, *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def _kill_at(url: str, prefix: str, marker: Path) -> None:
    """Open ``url`` in a child and SIGKILL it right after its statement starting ``prefix``."""
    proc = _start(url, prefix, str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, f"the opener ended before {prefix!r}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"the opener never ran {prefix!r}"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def _revisions(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    finally:
        engine.dispose()


def _assert_opens_at_head(url: str) -> None:
    SqlStore(url).close()
    assert _revisions(url) == [HEAD_REVISION]
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert set(inspector.get_table_names()) >= TABLE_NAMES
        columns = {c["name"] for c in inspector.get_columns("kitaru_executions")}
        assert {"replay_plan", "reused_ops"} <= columns
    finally:
        engine.dispose()


def _upgrade_to(url: str, revision: str) -> None:
    """A store left by an older Kitaru, at ``revision``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "prefix",
    [
        f"CREATE TABLE {VERSION_TABLE}",
        "CREATE TABLE kitaru_executions",
        "CREATE TABLE kitaru_waits",
        "ALTER TABLE kitaru_executions ADD COLUMN reused_ops",
    ],
)
def test_a_store_killed_during_its_first_open_opens_afterwards(tmp_path: Path, prefix: str) -> None:
    # Before, each DDL statement committed on its own on SQLite: a kill left tables and an
    # empty version table, and every later open was refused as "not a Kitaru store".
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _kill_at(url, prefix, tmp_path / "marker")
    _assert_opens_at_head(url)


def test_a_store_killed_at_many_moments_of_its_first_open_opens_afterwards(
    tmp_path: Path,
) -> None:
    # Timed kills, as the attack did them: a bounded sweep across the whole first open.
    timed = _start(f"sqlite:///{tmp_path / 'timing.db'}", "", str(tmp_path / "go-timing"))
    started = time.monotonic()
    (tmp_path / "go-timing").touch()
    assert timed.stdout is not None
    assert timed.stdout.readline().strip() == "opened"
    duration = time.monotonic() - started
    timed.communicate(timeout=30)
    for step in range(10):
        url = f"sqlite:///{tmp_path / f'store-{step}.db'}"
        go = tmp_path / f"go-{step}"
        proc = _start(url, "", str(go))
        go.touch()
        time.sleep(duration * step / 9)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        _assert_opens_at_head(url)


def test_an_upgrade_killed_midway_is_applied_on_the_next_open(tmp_path: Path) -> None:
    # Before, 0003's column was committed without its revision: every later open failed with
    # "duplicate column name".
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _upgrade_to(url, "0002")
    _kill_at(url, "ALTER TABLE kitaru_executions ADD COLUMN reused_ops", tmp_path / "marker")
    assert _revisions(url) == ["0002"]
    _assert_opens_at_head(url)


def test_an_empty_version_table_is_named_as_such(tmp_path: Path) -> None:
    # A store whose tables hold data but whose version table is empty (an old Kitaru killed in
    # its first open, then written to by hand) is refused with what is actually wrong.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    SqlStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {VERSION_TABLE}"))
        conn.execute(
            sa.text(
                "INSERT INTO kitaru_logs (exec_id, ts, stream, line) VALUES ('e', 1, 'out', 'x')"
            )
        )
    engine.dispose()
    with pytest.raises(NotAKitaruStore, match=f"{VERSION_TABLE} table is empty"):
        SqlStore(url)


def test_a_store_left_empty_by_an_interrupted_first_open_is_rebuilt(tmp_path: Path) -> None:
    # What an older Kitaru left behind when killed during its first open: every table, no
    # revision, no data. Nothing can be lost, so the store is built again.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    SqlStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {VERSION_TABLE}"))
        conn.execute(sa.text("DROP TABLE kitaru_waits"))
    engine.dispose()
    _assert_opens_at_head(url)


CONCURRENT_OPENERS = 6


def test_processes_opening_a_fresh_store_at_once_all_succeed(
    empty_store_url: Callable[[], str], tmp_path: Path
) -> None:
    # Before, 5 of 6 failed with "table already exists" (SQLite) or UniqueViolation (PostgreSQL).
    for round_ in range(2):
        url = empty_store_url()
        go = tmp_path / f"go-{round_}"
        procs = [_start(url, "", str(go)) for _ in range(CONCURRENT_OPENERS)]
        go.touch()
        results = [proc.communicate(timeout=90) for proc in procs]
        failures = [err for proc, (_, err) in zip(procs, results, strict=True) if proc.returncode]
        assert failures == []
        assert all(out.strip() == "opened" for out, _ in results)
        _assert_opens_at_head(url)
