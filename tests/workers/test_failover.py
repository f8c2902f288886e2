"""Three ``kitaru worker``s on PostgreSQL + S3 (moto); one is SIGKILLed mid-run (issue 12).

30 executions of 20 checkpoints (plus one whose output goes to S3) all complete with the right
results; counted per checkpoint from the side-effect marks, no completed checkpoint ran twice and
a checkpoint in flight in the killed worker ran at most twice.
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Workers, marks, wait_for, write_stack

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
        procs = [pool.start("--concurrency", "2") for _ in range(3)]
        handles = {n: worker_flows.twenty_steps.run(n, pause=0.05) for n in range(EXECUTIONS)}
        victim = procs[0]

        def victim_mid_checkpoint() -> bool:
            rows = marks(mark_file)
            done = sum(1 for row in rows if row[3] == "end")
            open_ = Counter((r[0], r[1]) for r in rows if r[2] == victim.pid and r[3] == "start")
            open_.subtract((r[0], r[1]) for r in rows if r[2] == victim.pid and r[3] == "end")
            return done >= 120 and any(count > 0 for count in open_.values())

        wait_for(victim_mid_checkpoint, 90, "the victim worker to be inside a checkpoint")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()

        results = {n: handle.wait(timeout=120) for n, handle in handles.items()}
    finally:
        pool.stop_all()

    assert results == {n: worker_flows.expected(n) for n in range(EXECUTIONS)}
    rows = marks(mark_file)
    starts = Counter((r[0], r[1]) for r in rows if r[3] == "start")
    ends = Counter((r[0], r[1]) for r in rows if r[3] == "end")
    killed_in_flight = {(r[0], r[1]) for r in rows if r[2] == victim.pid and r[3] == "start"} - {
        (r[0], r[1]) for r in rows if r[2] == victim.pid and r[3] == "end"
    }
    assert killed_in_flight, "the worker was killed outside a checkpoint; the test proves less"
    assert len(starts) == EXECUTIONS * (worker_flows.STEPS + 1)
    twice = {key for key, count in starts.items() if count > 1}
    assert all(count <= 2 for count in starts.values()), starts.most_common(3)
    # Only checkpoints in flight in the killed worker ran again; completed ones never did.
    assert twice <= killed_in_flight, twice - killed_in_flight
    assert all(ends[key] >= 1 for key in starts)
    client = KitaruClient()
    taken_over = {key[0] for key in killed_in_flight}
    for exec_id in taken_over:
        execution = client.executions.get(exec_id)
        assert execution.status == "completed"
        # the killed worker's run, then a takeover
        assert client.store.get_execution(exec_id).run_count >= 2
    # The last step of each execution wrote its output to S3.
    listing = boto3.client("s3").list_objects_v2(Bucket=s3_bucket)
    assert len(listing.get("Contents", [])) == EXECUTIONS
