"""Workers on PostgreSQL: checkpoint overhead against DBOS, resume, throughput, wait latency.

    python benchmarks/workers.py [--steps 200] [--repeats 5] [--write-docs]

Needs the PostgreSQL server at ``KITARU_BENCH_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and ``kitaru[workers]``. Every figure uses a fresh
database, dropped at the end. One run measures:

- per-checkpoint overhead on PostgreSQL (one process, local runner), and DBOS's per-step overhead
  on the same server in the same run (DBOS in its own venv under benchmarks/.venvs);
- the server's floor: one small INSERT that commits on its own (plain psycopg, autocommit), what
  any system that commits each step before the next pays at least on this server and disk;
- resume of an execution with 1,000 recorded checkpoints on PostgreSQL;
- throughput in checkpoints/s of I/O-bound checkpoints with 1 and with 2 ``kitaru worker``s;
- answer-to-resume latency of a wait, with a worker running (p50 and p90).

``--write-docs`` puts the table into docs/performance.md between its ``workers`` markers.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers.run_peers import run_peer  # noqa: E402

ADMIN = os.environ.get("KITARU_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- workers:begin -->"
MARK_END = "<!-- workers:end -->"


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database; yields its libpq URL and drops it afterwards."""
    import psycopg

    name = f"kitaru_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kitaru_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def checkpoint_overhead(steps: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """Kitaru's checkpoint script (benchmarks/_kitaru_steps.py) with a PostgreSQL store."""
    import json

    with database() as url:
        env = {**os.environ, "KITARU_STORE_URL": kitaru_url(url)}
        cmd = [
            sys.executable,
            str(HERE / "_kitaru_steps.py"),
            *("--steps", str(steps), "--repeats", str(repeats), "--workdir", str(workdir)),
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-500:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def dbos_overhead(steps: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """DBOS's step script on the same PostgreSQL server (its own fresh database)."""
    with database() as url:
        os.environ["DBOS_BENCH_DATABASE_URL"] = url
        try:
            return run_peer("dbos", steps, repeats, workdir, resume_steps=0)
        finally:
            os.environ.pop("DBOS_BENCH_DATABASE_URL", None)


def commit_floor(steps: int, repeats: int) -> list[float]:
    """Per-step ms of one INSERT committing by itself (a row like a checkpoint's), per repeat."""
    import psycopg

    samples = []
    with database() as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE floor (id serial PRIMARY KEY, op_id text, output bytea)")
        insert = "INSERT INTO floor (op_id, output) VALUES (%s, %s)"
        for _ in range(repeats + 1):  # the first repeat warms up
            start = time.perf_counter()
            for i in range(steps):
                conn.execute(insert, (f"step:{i}", b"42"), prepare=True)
            samples.append((time.perf_counter() - start) * 1000 / steps)
    return samples[1:]


class Stack:
    """A worker stack on a fresh database, in a temporary KITARU_HOME, and its workers."""

    def __init__(self, url: str, home: Path, lease: float = 5.0) -> None:
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(
            f'lease_seconds = {lease}\n\n[stacks.bench]\nstore = "{kitaru_url(url)}"\n'
            f'artifacts = "{home / "artifacts"}"\nrunner = "workers"\n'
        )
        self.env = {
            **os.environ,
            "KITARU_HOME": str(home),
            "KITARU_STACK": "bench",
            "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent)]),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start_worker(self, concurrency: int) -> None:
        self.procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kitaru_core.cli",
                    "worker",
                    "--concurrency",
                    str(concurrency),
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            proc.wait(timeout=60)
        self.procs.clear()


def _in_stack(stack: Stack) -> None:
    """Point this process's settings at ``stack``."""
    from kitaru_core import _config
    from kitaru_core.runners._resolve import forget_runners
    from kitaru_core.store import _backends

    os.environ.update({k: stack.env[k] for k in ("KITARU_HOME", "KITARU_STACK")})
    _config.reset()
    _backends.close_all()
    forget_runners()


def _wait_for_workers(count: int) -> None:
    from kitaru_core._config import load_settings
    from kitaru_core.runners import runner_for

    runner = runner_for(load_settings())
    deadline = time.monotonic() + 60
    while runner.live_workers(30) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not start")
        time.sleep(0.1)


def throughput(workers: int, *, executions: int, steps: int, pause: float, workdir: Path) -> float:
    """Checkpoints per second with ``workers`` workers (concurrency 4 each)."""
    import _worker_flows

    with database() as url:
        stack = Stack(url, workdir / f"tp-{workers}")
        _in_stack(stack)
        try:
            for _ in range(workers):
                stack.start_worker(4)
            _wait_for_workers(workers)
            start = time.perf_counter()
            handles = [_worker_flows.io_bound.run(steps, pause) for _ in range(executions)]
            for handle in handles:
                handle.wait(timeout=600)
            elapsed = time.perf_counter() - start
        finally:
            stack.stop()
    return executions * steps / elapsed


def wait_latency(samples: int, workdir: Path) -> list[float]:
    """Milliseconds from answering a wait to the execution's end, a worker running."""
    import _worker_flows

    from kitaru import ExecutionSuspended, KitaruClient

    latencies = []
    with database() as url:
        stack = Stack(url, workdir / "latency")
        _in_stack(stack)
        try:
            stack.start_worker(2)
            _wait_for_workers(1)
            client = KitaruClient()
            for _ in range(samples + 1):
                handle = _worker_flows.approve.run()
                with suppress(ExecutionSuspended):
                    handle.wait(timeout=60)
                answered = time.time()
                client.executions.input(handle.exec_id, True)
                assert handle.wait(timeout=60) is True
                ended = client.store.get_execution(handle.exec_id).ended_at or 0.0
                latencies.append((ended - answered) * 1000)
        finally:
            stack.stop()
    return latencies[1:]  # the first one warms the worker up


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kitaru-workers-bench-") as tmp:
        workdir = Path(tmp)
        kitaru = checkpoint_overhead(args.steps, args.repeats, workdir / "kitaru")
        dbos = dbos_overhead(args.steps, args.repeats, workdir / "dbos")
        floor = commit_floor(args.steps, args.repeats)
        tp1 = throughput(1, executions=40, steps=25, pause=0.02, workdir=workdir)
        tp2 = throughput(2, executions=40, steps=25, pause=0.02, workdir=workdir)
        latency = wait_latency(args.latency_samples, workdir)
    return {
        "kitaru": kitaru,
        "dbos": dbos,
        "floor": floor,
        "tp1": tp1,
        "tp2": tp2,
        "latency": latency,
        "load": os.getloadavg()[0],
    }


def table(r: dict[str, Any]) -> str:
    k_step = statistics.median(r["kitaru"]["per_step_ms"])
    dbos = r["dbos"]
    if "error" in dbos:
        d_cell, ratio = f"unavailable: {dbos['error']}", "n/a"
    else:
        d_step = statistics.median(dbos["per_step_ms"])
        d_cell, ratio = f"{d_step:.3f}", f"{d_step / k_step:.1f}x"
    floor = statistics.median(r["floor"])
    lat = sorted(r["latency"])
    p50 = statistics.median(lat)
    p90 = lat[int(0.9 * (len(lat) - 1))]
    return "\n".join(
        [
            "| figure | value |",
            "|---|---:|",
            f"| per-checkpoint overhead, Kitaru on PostgreSQL, median (ms) | {k_step:.3f} |",
            f"| per-step overhead, DBOS {dbos.get('version', '')} on the same PostgreSQL, "
            f"median (ms) | {d_cell} |",
            f"| DBOS / Kitaru | {ratio} |",
            f"| the server's floor: one INSERT committing by itself, plain psycopg, median (ms) | "
            f"{floor:.3f} |",
            f"| Kitaru above that floor (ms) | {k_step - floor:.3f} |",
            f"| resume of 1,000 recorded checkpoints on PostgreSQL (ms) | "
            f"{r['kitaru']['resume_1000_ms']:.1f} |",
            f"| throughput, 1 worker (checkpoints/s) | {r['tp1']:.0f} |",
            f"| throughput, 2 workers (checkpoints/s) | {r['tp2']:.0f} |",
            f"| 2 workers / 1 worker | {r['tp2'] / r['tp1']:.2f}x |",
            f"| answer-to-resume latency of a wait, p50 / p90 (ms) | {p50:.0f} / {p90:.0f} |",
            "",
            f"Load average (1 min) at the end of the run: {r['load']:.1f} "
            f"on {os.cpu_count()} CPUs.",
        ]
    )


def write_docs(text: str) -> None:
    doc = DOCS.read_text()
    block = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
    if MARK_BEGIN in doc:
        start, end = doc.index(MARK_BEGIN), doc.index(MARK_END) + len(MARK_END)
        doc = doc[:start] + block + doc[end:]
    else:
        doc = doc.rstrip() + "\n\n## Workers on PostgreSQL\n\n" + block + "\n"
    DOCS.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    text = table(measure(args))
    print(text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
