"""Three ``kitaru worker``s on PostgreSQL + S3 (moto); one is SIGKILLed mid-run (issue 12).

30 executions of 20 checkpoints (plus one whose output goes to S3) all complete with the right
results; counted per checkpoint from the side-effect marks, no completed checkpoint ran twice and
a checkpoint in flight in the killed worker ran at most twice. The victim kills itself with
SIGKILL right after a checkpoint started (worker_flows.py), so the crash point is exact.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LEASE, Workers, check_counts, marks, write_stack

from kitaru_core import _config

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

s3fs = pytest.importorskip("s3fs", reason="s3fs is not installed (pip install 'kitaru[s3]')")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (comes with moto)")

EXECUTIONS = 30


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server on a free loopback port, and a new bucket in it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    try:
        yield name
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def jobs_doing(store_url: str) -> list[int]:
    """Ids of the Procrastinate jobs still marked as being run by some worker."""
    import psycopg

    url = store_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT id FROM procrastinate_jobs WHERE status = 'doing'").fetchall()
    return [row[0] for row in rows]


def test_three_workers_one_killed(
    s3_bucket: str,
    worker_db: str,
    kitaru_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_stack(kitaru_home, worker_db, f"s3://{s3_bucket}/runs")
    mark_file = tmp_path / "marks.txt"
    monkeypatch.setenv("KITARU_STACK", "prod")
    monkeypatch.setenv("KITARU_TEST_MARKS", str(mark_file))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    _config.reset()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), str(Path.cwd())])

    import worker_flows

    from kitaru import KitaruClient

    pool = Workers(env, tmp_path)
    try:
        # The victim SIGKILLs itself inside a checkpoint once 120 have started (240 marks).
        victim = pool.start("--concurrency", "2", env={"KITARU_TEST_DIE_AT_MARK": "240"})
        pool.start("--concurrency", "2")
        pool.start("--concurrency", "2")
        handles = {n: worker_flows.twenty_steps.run(n, pause=0.05) for n in range(EXECUTIONS)}
        assert victim.wait(timeout=120) == -signal.SIGKILL

        results = {n: handle.wait(timeout=120) for n, handle in handles.items()}
        # The killed worker's jobs do not stay 'doing' in Procrastinate's table for ever: once
        # its heartbeat is older than a lease, a surviving worker's sweep closes them.
        deadline = time.monotonic() + 10 * LEASE
        while jobs_doing(worker_db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert jobs_doing(worker_db) == []
    finally:
        pool.stop_all()

    assert results == {n: worker_flows.expected(n) for n in range(EXECUTIONS)}
    rows = marks(mark_file)
    taken_over = check_counts(rows, victim.pid, 2, EXECUTIONS * (worker_flows.STEPS + 1))
    client = KitaruClient()
    for exec_id in taken_over:
        execution = client.executions.get(exec_id)
        assert execution.status == "completed"
        # the killed worker's run, then a takeover
        assert client.store.get_execution(exec_id).run_count >= 2
    # The last step of each execution wrote its output to S3.
    listing = boto3.client("s3").list_objects_v2(Bucket=s3_bucket)
    assert len(listing.get("Contents", [])) == EXECUTIONS
