"""DBOS peer: N trivial durable steps on a SQLite system database, or on PostgreSQL with
``--system-db-url postgresql://...`` (benchmarks/postgres_store.py).

Run with the DBOS venv's python; prints one JSON object on stdout.
Modes ``--crash-child`` and ``--resume-child`` are used internally for the resume figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from dbos import DBOS, SetWorkflowID

IMPORT_STMT = "import dbos"
RESUME_ID = "bench-resume"
CRASH_RC = 3
CRASH = False  # set in the crash child: the process dies after the last step
_entered: list[float] = []  # perf_counter at workflow body entry
_executed: list[int] = []  # one entry per step body actually run


@DBOS.step()
def inc(x: int) -> int:
    """One trivial step."""
    _executed.append(x)
    return x + 1


@DBOS.workflow()
def flow(n: int) -> int:
    """N steps, each output feeding the next."""
    _entered.append(time.perf_counter())
    x = 0
    for _ in range(n):
        x = inc(x)
    if CRASH:
        os._exit(CRASH_RC)
    return x


def plain_inc(x: int) -> int:
    """The same step without DBOS."""
    return x + 1


def import_ms(stmt: str) -> float:
    """Median over 5 fresh interpreters of ``python -c stmt`` minus ``python -c pass``."""

    def median_ms(code: str) -> float:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append((time.perf_counter() - t0) * 1000)
        return statistics.median(samples)

    return median_ms(stmt) - median_ms("pass")


def launch(db: Path | str) -> None:
    """Create and launch the DBOS singleton on a SQLite file, a database URL, or the PostgreSQL
    database named by ``DBOS_BENCH_DATABASE_URL`` (benchmarks/workers.py)."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    DBOS(
        config={
            "name": "kitaru-bench",
            "system_database_url": os.environ.get("DBOS_BENCH_DATABASE_URL") or url,
            "log_level": "ERROR",
        }
    )
    DBOS.launch()


def resume_child(db: Path | str) -> None:
    """Launch on a db holding a PENDING workflow; startup recovery replays it."""
    t0 = time.perf_counter()
    launch(db)
    result = DBOS.retrieve_workflow(RESUME_ID).get_result(polling_interval_sec=0.001)
    t1 = time.perf_counter()
    assert result is not None and _entered, "recovered workflow did not run here"
    assert not _executed, f"{len(_executed)} recorded steps re-executed"
    DBOS.destroy()
    print(json.dumps({"replay_ms": (t1 - _entered[0]) * 1000, "wall_ms": (t1 - t0) * 1000}))


def measure_resume(workdir: Path, steps: int, url: str | None = None) -> dict[str, float]:
    """Crash a child after `steps` recorded steps, then time recovery in a fresh process."""
    db = workdir / "dbos_resume.sqlite"
    db.unlink(missing_ok=True)
    me = [sys.executable, __file__, "--workdir", str(workdir), "--steps", str(steps)]
    if url:
        me += ["--system-db-url", url, "--resume-id", f"bench-resume-{os.getpid()}-{time.time()}"]
    crash = subprocess.run([*me, "--crash-child"], capture_output=True, text=True, check=False)
    if crash.returncode != CRASH_RC:
        raise RuntimeError(f"crash child exited {crash.returncode}: {crash.stderr[-300:]}")
    out = subprocess.run([*me, "--resume-child"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments and print one JSON object."""
    global CRASH, RESUME_ID
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--resume-steps", type=int, default=1000, help="0 skips the resume figure")
    ap.add_argument("--system-db-url", default=None, help="a PostgreSQL URL instead of SQLite")
    ap.add_argument("--resume-id", default=RESUME_ID, help=argparse.SUPPRESS)
    ap.add_argument("--crash-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--resume-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    n: int = args.steps
    RESUME_ID = args.resume_id
    resume_db: Path | str = args.system_db_url or args.workdir / "dbos_resume.sqlite"

    if args.crash_child:
        CRASH = True
        launch(resume_db)
        with SetWorkflowID(RESUME_ID):
            flow(n)
        raise SystemExit("crash child: workflow returned instead of crashing")
    if args.resume_child:
        resume_child(resume_db)
        return

    imp = import_ms(IMPORT_STMT)
    db = args.workdir / "dbos_sys.sqlite"
    db.unlink(missing_ok=True)
    launch(args.system_db_url or db)
    flow(n)  # warm-up, not recorded
    run_ms: list[float] = []
    plain_ms: list[float] = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        assert flow(n) == n
        run_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        x = 0
        for _ in range(n):
            x = plain_inc(x)
        plain_ms.append((time.perf_counter() - t0) * 1000)
    DBOS.destroy()

    resume: dict[str, float] | None = None
    if args.resume_steps > 0:
        resume = measure_resume(args.workdir, args.resume_steps, args.system_db_url)
    where = (
        "the PostgreSQL system db (synchronous_commit as the server sets it)"
        if args.system_db_url
        else "the SQLite system db (rollback journal, synchronous=FULL)"
    )
    notes = (
        "one workflow per repeat (fresh workflow id), 1 warm-up run; each step's result is "
        f"committed to {where} before the next."
    )
    if resume:
        notes += (
            f" resume: a child process crashes (os._exit) after recording {args.resume_steps} "
            "steps; a fresh process calls DBOS.launch(), whose startup recovery re-enqueues the "
            "PENDING workflow and re-runs it, each step returning its recorded output (0 "
            "re-executed). resume_1000_ms = workflow body entry to result; launch-to-result "
            f"wall was {resume['wall_ms']:.0f} ms, mostly the internal queue's 1 s poll."
        )
    print(
        json.dumps(
            {
                "peer": "dbos",
                "version": version("dbos"),
                "import_ms": imp,
                "run_ms": run_ms,
                "plain_ms": plain_ms,
                "per_step_ms": [(r - p) / n for r, p in zip(run_ms, plain_ms, strict=True)],
                "resume_1000_ms": resume["replay_ms"] if resume else None,
                "notes": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
