"""A process killed while it answers a wait leaves the execution answerable or resumable.

The child answers the wait through the client and stops for good (until SIGKILLed) at a chosen
point of the SQL traffic: right after the wait row is updated (before its commit), or right
after the transaction that updated the wait row committed. Whatever the point, the wait and the
execution must agree: still pending and ``waiting`` (answer again), or answered and ``queued``
(resume). Before, the answer and the move to ``queued`` were two transactions: a kill between
them left a ``waiting`` execution with no pending wait, which ``input`` refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient, flow
from kitaru_core import _config
from kitaru_core.store import _backends

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import sqlalchemy as sa
    from kitaru import KitaruClient

    point, exec_id, signal_file = sys.argv[1:]
    wrote_wait = []

    def stop_here():
        Path(signal_file).write_text(point)
        time.sleep(120)  # the parent SIGKILLs us here

    @sa.event.listens_for(sa.engine.Engine, "after_cursor_execute")
    def after_statement(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE KITARU_WAITS"):
            wrote_wait.append(True)
            if point == "wait-row-written":
                stop_here()

    @sa.event.listens_for(sa.pool.Pool, "checkin")
    def after_transaction(dbapi_connection, record):
        if wrote_wait and point == "wait-transaction-committed":
            stop_here()

    KitaruClient().executions.input(exec_id, True, wait="approve")
    print("NOT KILLED")
    """
)


@flow
def approval() -> str:
    return "approved" if kitaru.wait(bool, name="approve", timeout=0) else "declined"


def _answer_and_die(env: dict[str, str], tmp_path: Path, point: str, exec_id: str) -> None:
    signal_file = tmp_path / f"reached-{point}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, point, exec_id, str(signal_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            if child.poll() is not None:
                out, err = child.communicate()
                pytest.fail(f"the child ended before {point}: {out}{err}")
            assert time.monotonic() < deadline, f"the child never reached {point}"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("point", ["wait-row-written", "wait-transaction-committed"])
def test_crash_between_answering_a_wait_and_queuing_leaves_it_answerable_or_queued(
    store_url: str,
    point: str,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    _config.reset()
    exec_id = approval.run().exec_id
    assert KitaruClient().executions.get(exec_id).status == "waiting"

    _answer_and_die({**subprocess_env, "KITARU_STORE_URL": store_url}, tmp_path, point, exec_id)

    _backends.close_all()
    api = KitaruClient().executions
    [row] = api.waits(exec_id)
    state = (row.status, api.get(exec_id).status)
    assert state in {("pending", "waiting"), ("answered", "queued")}, state
    if row.status == "pending":
        api.input(exec_id, True, wait="approve")
    assert api.resume(exec_id).wait() == "approved"
