"""A process killed while it suspends on a wait that was answered meanwhile leaves it queued.

The child runs a flow that asks a question. When the flow has given up on the answer and the
child starts to record the suspension, it pauses while the test answers (the execution is still
``running``, so the answer cannot queue it); then it records the suspension and stops for good
(until SIGKILLed) right after that transaction committed. Before, that transaction set
``waiting`` and a second one queued the execution because its wait was answered: a kill between
the two left an answered wait on a ``waiting`` execution, which ``kitaru executions input``
refused and nothing queued.
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

from kitaru import KitaruClient
from kitaru_core import _config
from kitaru_core.store import _backends

SCRIPT = textwrap.dedent(
    """
    import kitaru


    @kitaru.flow
    def approval() -> str:
        return "approved" if kitaru.wait(bool, name="approve", timeout=0) else "declined"


    if __name__ == "__main__":
        import sys, time
        from pathlib import Path
        import sqlalchemy as sa

        folder = Path(sys.argv[1])
        suspending = []

        def records_the_suspension(statement, params):
            sql = " ".join(statement.split()).upper()
            if sql.startswith("UPDATE KITARU_EXECUTIONS") and "'waiting'" in repr(params):
                return True
            return sql.startswith("SELECT") and "KITARU_WAITS" in sql and "FOR UPDATE" in sql

        @sa.event.listens_for(sa.engine.Engine, "before_cursor_execute")
        def before_statement(conn, cursor, statement, params, context, executemany):
            if not suspending and records_the_suspension(statement, params):
                suspending.append(True)  # the flow gave up on its wait: let the test answer
                (folder / "asking").write_text(kitaru.current_execution_id() or "")
                (folder / "asking").rename(folder / "asked")
                while not (folder / "answered").exists():
                    time.sleep(0.02)

        @sa.event.listens_for(sa.pool.Pool, "checkin")
        def after_transaction(dbapi_connection, record):
            if suspending:
                (folder / "suspended").write_text("")
                time.sleep(120)  # the test SIGKILLs us here

        approval.run()
        print("NOT KILLED")
    """
)


def _wait_for(path: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        if child.poll() is not None:
            out, err = child.communicate()
            pytest.fail(f"the child ended before writing {path.name}: {out}{err}")
        assert time.monotonic() < deadline, f"the child never wrote {path.name}"
        time.sleep(0.02)


def test_crash_between_suspending_and_queuing_an_answered_wait_leaves_it_queued(
    store_url: str,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    _config.reset()
    script = tmp_path / "approval_flow.py"
    script.write_text(SCRIPT)
    env = {**subprocess_env, "KITARU_STORE_URL": store_url}
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(tmp_path / "asked", child)
        exec_id = (tmp_path / "asked").read_text()
        api = KitaruClient().executions
        assert api.get(exec_id).status == "running"
        api.input(exec_id, True, wait="approve")
        (tmp_path / "answered").write_text("")
        _wait_for(tmp_path / "suspended", child)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    _backends.close_all()
    api = KitaruClient().executions
    [row] = api.waits(exec_id)
    assert (row.status, api.get(exec_id).status) == ("answered", "queued")
    resume = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kitaru import KitaruClient; "
            "print(KitaruClient().executions.resume(sys.argv[1]).wait())",
            exec_id,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resume.stdout.strip() == "approved", resume.stdout + resume.stderr
