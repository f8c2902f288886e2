"""Load test of the Kitaru server on loopback: concurrent clients listing and reading
executions, with bounded request loops.

    python benchmarks/server_load.py [--clients 50] [--seconds 30] [--write-docs]

Starts ``kitaru server start`` (a real process, auth on) over a fresh SQLite store seeded with
``--executions`` completed executions of a three-checkpoint flow. Then ``--clients`` clients
(asyncio + httpx, one connection each, one request in flight each) loop until ``--seconds``
have passed, alternating ``GET /api/executions?limit=20`` and ``GET /api/executions/ID`` (one
execution with its operations). In the same run, as the floor of HTTP + auth + uvicorn, the
same clients call ``GET /health`` for a third of the time. Prints p50/p99 latency, errors,
requests/s, the CPU time of the server and of the load generator, and the load average.

``--write-docs`` puts the table into docs/performance.md between its ``server-load`` markers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- server-load:begin -->"
MARK_END = "<!-- server-load:end -->"
MAX_REQUESTS_PER_CLIENT = 100_000
"""A hard bound on each client's loop, whatever the clock says."""


def seed(home: Path, count: int) -> list[str]:
    """``count`` completed executions in the store under ``home``; their ids."""
    import kitaru
    from kitaru import checkpoint, flow

    @checkpoint
    def fetch(i: int) -> dict[str, Any]:
        return {"i": i, "text": f"record {i} " * 20}

    @checkpoint
    def summarise(record: dict[str, Any]) -> str:
        return record["text"][:80]

    @checkpoint
    def publish(summary: str) -> str:
        return summary.upper()

    @flow
    def research(i: int) -> str:
        return publish(summarise(fetch(i)))

    kitaru.configure(store_url=f"sqlite:///{home / 'kitaru.db'}", artifact_url=str(home / "a"))
    return [research.run(i).exec_id for i in range(count)]


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hammer(
    url: str, token: str, paths: list[str], clients: int, seconds: float
) -> dict[str, Any]:
    """Run ``clients`` bounded loops over ``paths`` for ``seconds``; latencies and errors."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            rng = random.Random(n)
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if time.monotonic() >= deadline:
                    return
                path = rng.choice(paths)
                start = time.perf_counter()
                try:
                    answer = await http.get(path)
                    ok = answer.status_code == 200
                    if not ok:
                        errors.append(f"{answer.status_code} {path}")
                except httpx.HTTPError as exc:
                    ok = False
                    errors.append(f"{type(exc).__name__} {path}")
                if ok:
                    latencies.append(time.perf_counter() - start)

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` in milliseconds."""
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--executions", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="kitaru-server-load-"))
    os.environ["KITARU_HOME"] = str(home)
    ids = seed(home, args.executions)
    from kitaru_core.server._tokens import create_token
    from kitaru_core.store._backends import current_store

    _, token = create_token(current_store(), "load")
    port = 18000 + os.getpid() % 1000
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KITARU_HOME": str(home)}
    env.pop("KITARU_STORE_URL", None)
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed after the server stops
    server = subprocess.Popen(
        [sys.executable, "-m", "kitaru", "server", "start", "--port", str(port)],
        env={
            **env,
            "KITARU_STORE_URL": f"sqlite:///{home / 'kitaru.db'}",
            "KITARU_ARTIFACT_URL": str(home / "a"),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        load_before = os.getloadavg()
        reads = ["/api/executions?limit=20", *[f"/api/executions/{i}" for i in ids]]
        # Half the requests list, half read one execution.
        paths = ["/api/executions?limit=20"] * len(ids) + reads[1:]
        cpu0, own0 = server_cpu(server.pid), time.process_time()
        store_run = asyncio.run(hammer(url, token, paths, args.clients, args.seconds))
        cpu1, own1 = server_cpu(server.pid), time.process_time()
        floor = asyncio.run(hammer(url, token, ["/health"], args.clients, args.seconds / 3))
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(15)
        log.close()

    rows = table(args, store_run, floor, cpu1 - cpu0, own1 - own0, load_before, load_after)
    text = "\n".join(rows)
    print(text)
    if store_run["errors"]:
        print("errors:", sorted(set(store_run["errors"]))[:10])
    if args.write_docs:
        docs = DOCS.read_text()
        head, rest = docs.split(MARK_BEGIN)
        _, tail = rest.split(MARK_END)
        DOCS.write_text(f"{head}{MARK_BEGIN}\n{text}\n{MARK_END}{tail}")


def table(
    args: Any,
    run: dict[str, Any],
    floor: dict[str, Any],
    server_cpu_s: float,
    own_cpu_s: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> list[str]:
    """The Markdown table of one run."""
    lat, flat = run["latencies"], floor["latencies"]
    p50, p99 = quantile(lat, 0.50), quantile(lat, 0.99)
    f50, f99 = quantile(flat, 0.50), quantile(flat, 0.99)
    count = len(lat) + len(run["errors"])
    return [
        "| figure | value |",
        "|---|---:|",
        f"| clients, seconds, executions in the store | {args.clients}, {args.seconds:g}, "
        f"{args.executions} |",
        f"| requests (list + read one), errors | {count}, {len(run['errors'])} |",
        f"| requests/s | {count / run['elapsed']:.0f} |",
        f"| latency p50 / p99, list and read (ms) | {p50:.1f} / {p99:.1f} |",
        f"| latency p50 / p99, /health in the same run (ms) | {f50:.1f} / {f99:.1f} |",
        f"| list-and-read p50 / health p50 | {p50 / f50:.1f}x |",
        f"| server CPU during the list-and-read phase (s) | {server_cpu_s:.1f} |",
        f"| load generator CPU, same phase (s) | {own_cpu_s:.1f} |",
        f"| load average before / after (1 min) | {load_before[0]:.2f} / {load_after[0]:.2f} |",
    ]


if __name__ == "__main__":
    main()
