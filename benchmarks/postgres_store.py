"""Kitaru on PostgreSQL against DBOS on the same server, in one run.

    python benchmarks/postgres_store.py [--server postgresql://postgres@127.0.0.1:5432/test]
        [--steps 200] [--repeats 5] [--rounds 3] [--write-docs]

For a flow of N trivial checkpoints: the per-checkpoint overhead over plain Python (each
checkpoint committed before the next, synchronous_commit as the server sets it), and the time
to resume an execution whose 1,000 checkpoints are all recorded. Each system gets a fresh
database on the server per round (created through ``--server``'s database, dropped at the end);
the systems alternate within each round. DBOS runs in its own venv under benchmarks/.venvs.
``--write-docs`` puts the table into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers.run_peers import run_peer  # noqa: E402
from _venvs import VENVS_DIR  # noqa: E402
from checkpoint_overhead import merge, notes, run_kitaru_on, table  # noqa: E402

DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- postgres_store:begin -->"
MARK_END = "<!-- postgres_store:end -->"
SERVER = os.environ.get("KITARU_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def databases(server: str) -> Iterator[Any]:
    """A factory of fresh databases on ``server``: ``make(kind) -> URL``; all dropped after."""
    import psycopg
    import sqlalchemy as sa

    made: list[str] = []
    with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:

        def make(driver: str) -> str:
            name = f"kitaru_bench_{secrets.token_hex(5)}"
            conn.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            url = sa.make_url(server).set(drivername=driver, database=name)
            return url.render_as_string(hide_password=False)

        try:
            yield make
        finally:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_settings(server: str) -> str:
    """The settings that decide what a commit costs, as one line."""
    import psycopg

    with psycopg.connect(server, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    return (
        f"PostgreSQL {version[0] if version else '?'}, synchronous_commit="
        f"{sync[0] if sync else '?'}, fsync={fsync[0] if fsync else '?'}"
    )


def resume_cpu(rounds: list[dict[str, Any]]) -> str:
    """Kitaru's own CPU time for the resume: what a loaded machine's wall time hides."""
    values = [r["resume_1000_cpu_ms"] for r in rounds if "resume_1000_cpu_ms" in r]
    if not values:
        return ""
    return (
        f"\n- kitaru resume of 1,000 checkpoints: {statistics.median(values):.1f} ms of CPU in "
        "Kitaru's process (median over rounds); the rest of its wall time is waiting for the "
        "server and the commit's flush, and for the CPU when the machine is busy."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=SERVER, help="an admin URL of the PostgreSQL server")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="repeats per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", nargs="*", default=["dbos"])
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    systems = ["kitaru (process)", *args.peers]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    with tempfile.TemporaryDirectory(dir=VENVS_DIR) as tmp, databases(args.server) as make:
        for number in range(args.rounds):
            work = Path(tmp) / f"round-{number}"
            for name in systems:
                print(f"round {number + 1}/{args.rounds}: {name} ...", file=sys.stderr)
                if name.startswith("kitaru"):
                    url = make("postgresql+psycopg")
                    result = run_kitaru_on(url, args.steps, args.repeats, work)
                else:
                    url = make("postgresql")
                    extra = ["--system-db-url", url]
                    result = run_peer(name, args.steps, args.repeats, work, extra_args=extra)
                rounds[name].append(result)
    results = [merge(rounds[name]) for name in systems]
    markdown = (
        f"{server_settings(args.server)}, over loopback; load average while it ran: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n\n"
        + table(results)
        + "\n\n"
        + notes(results)
        + resume_cpu(rounds["kitaru (process)"])
    )
    print(markdown)
    if args.write_docs:
        write_docs(markdown, args.steps, args.repeats * args.rounds)


def write_docs(markdown: str, steps: int, repeats: int) -> None:
    """Replace the table between the markers in docs/performance.md (added when missing)."""
    text = DOCS.read_text()
    block = (
        f"{MARK_BEGIN}\nN={steps} checkpoints, {repeats} repeats in alternating rounds, "
        f"medians. Produced by `python benchmarks/postgres_store.py --write-docs`.\n\n"
        f"{markdown}\n"
    )
    if MARK_BEGIN not in text:
        text = text.rstrip() + f"\n\n## PostgreSQL\n\n{MARK_BEGIN}\n{MARK_END}\n"
    begin, end = text.index(MARK_BEGIN), text.index(MARK_END)
    DOCS.write_text(text[:begin] + block + text[end:])


if __name__ == "__main__":
    main()
