"""Adapter overhead, LangGraph: one graph plain, with Kitaru's durable nodes, and with LangGraph's
own ``SqliteSaver`` (``durability="sync"``).

    python benchmarks/adapter_overhead_langgraph.py [--n 100 400] [--repeats 3] [--rounds 3]
                                                    [--write-docs]

The graph loops one node N times; each run of the node returns ~800 bytes and a counter (the
state does not grow, so neither system pays for a growing history). Each system runs in a fresh
interpreter (this script with ``--worker``) that times, for each N, the plain graph and the
durable one alternately, so each durable sample is paired with a plain one taken beside it;
the systems alternate within each round and samples are pooled over rounds. Reported: the time
a durable run adds to the plain run, whole and per recorded operation (Kitaru: each node run it
records; SqliteSaver: each checkpoint it writes), medians of the paired differences, wall and
CPU. Both store in SQLite files on disk. ``--write-docs`` puts the table into
docs/performance.md between its ``adapter_overhead_langgraph`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypedDict

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- adapter_overhead_langgraph:begin -->"
MARK_END = "<!-- adapter_overhead_langgraph:end -->"
SYSTEMS = ("kitaru", "sqlite_saver")
PAYLOAD = "x" * 800


# --- the worker: one system in a fresh interpreter ------------------------------------------------


class LoopState(TypedDict):
    count: int
    limit: int
    last: str


def build_graph() -> Any:
    """START -> step -> step ... (N times) -> END."""
    from langgraph.graph import END, START, StateGraph

    def step(state: LoopState) -> dict[str, Any]:
        return {"count": state["count"] + 1, "last": PAYLOAD + str(state["count"])}

    def more(state: LoopState) -> str:
        return "step" if state["count"] < state["limit"] else END

    builder = StateGraph(LoopState)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", more, ["step", END])
    return builder


def _timed(call: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, value


def kitaru_runner(workdir: Path) -> tuple[Any, str]:
    os.environ["KITARU_HOME"] = str(workdir / "kitaru-home")
    import kitaru
    from kitaru.adapters.langgraph import durable_graph

    graph = durable_graph(build_graph(), name="bench_loop")

    @kitaru.flow
    def loop(limit: int) -> int:
        config = {"recursion_limit": 10**6}
        return int(graph.invoke({"count": 0, "limit": limit, "last": ""}, config)["count"])

    client = kitaru.KitaruClient()

    def run(limit: int) -> Any:
        handle = loop.run(limit)
        handle.wait()
        return lambda: len(client.executions.get(handle.exec_id).operations)

    return run, (
        "durable_graph invoked in a sync @flow; SQLite on disk (WAL, synchronous=NORMAL, the "
        "default); ops = node runs one execution recorded"
    )


def saver_runner(workdir: Path) -> tuple[Any, str]:
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(workdir / "langgraph.sqlite"), check_same_thread=False)
    saver = SqliteSaver(conn)
    graph = build_graph().compile(checkpointer=saver)
    threads = iter(range(10**9))

    def run(limit: int) -> Any:
        config = {"configurable": {"thread_id": f"t{next(threads)}"}, "recursion_limit": 10**6}
        graph.invoke({"count": 0, "limit": limit, "last": ""}, config, durability="sync")
        return lambda: len(list(saver.list(config)))

    return run, (
        f"langgraph-checkpoint-sqlite {version('langgraph-checkpoint-sqlite')} SqliteSaver on a "
        "SQLite file on disk, invoke(durability='sync'), one thread per run; ops = checkpoints "
        "one run wrote"
    )


def worker(system: str, sizes: list[int], repeats: int, workdir: Path) -> dict[str, Any]:
    """Paired samples (plain, durable) for each N, from this interpreter."""
    workdir.mkdir(parents=True, exist_ok=True)
    runner = kitaru_runner if system == "kitaru" else saver_runner
    durable, notes = runner(workdir)
    plain_graph = build_graph().compile()

    def plain(limit: int) -> int:
        config = {"recursion_limit": 10**6}
        return int(plain_graph.invoke({"count": 0, "limit": limit, "last": ""}, config)["count"])

    durable(5), plain(5)  # warm up imports and caches
    samples: dict[str, Any] = {"system": system, "notes": notes, "by_n": {}}
    for limit in sizes:
        rows = []
        for _ in range(repeats):
            p_wall, p_cpu, _ = _timed(lambda limit=limit: plain(limit))
            d_wall, d_cpu, count = _timed(lambda limit=limit: durable(limit))
            ops = count()  # read back after the timing: counting is not part of the run
            rows.append({"plain": p_wall, "plain_cpu": p_cpu, "durable": d_wall,
                         "durable_cpu": d_cpu, "ops": ops})  # fmt: skip
        samples["by_n"][str(limit)] = rows
    return samples


# --- the driver ----------------------------------------------------------------------------------


def run_worker(system: str, sizes: list[int], repeats: int, workdir: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", system, "--workdir", str(workdir),
         "--repeats", str(repeats), "--n", *map(str, sizes)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{system} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def summarize(pooled: dict[str, list[dict[str, Any]]], sizes: list[int]) -> list[dict[str, Any]]:
    """One row per system and N: medians of the paired differences."""
    rows = []
    for limit in sizes:
        per_op: dict[str, float] = {}
        for system in SYSTEMS:
            samples = [s for run in pooled[system] for s in run["by_n"][str(limit)]]
            ops = statistics.median(s["ops"] for s in samples)
            added = statistics.median(s["durable"] - s["plain"] for s in samples)
            added_cpu = statistics.median(s["durable_cpu"] - s["plain_cpu"] for s in samples)
            row = {
                "system": system,
                "n": limit,
                "ops": ops,
                "plain": statistics.median(s["plain"] for s in samples),
                "durable": statistics.median(s["durable"] for s in samples),
                "added": added,
                "per_op": statistics.median(
                    (s["durable"] - s["plain"]) / s["ops"] for s in samples
                ),
                "per_op_cpu": statistics.median(
                    (s["durable_cpu"] - s["plain_cpu"]) / s["ops"] for s in samples
                ),
                "added_cpu": added_cpu,
                "samples": len(samples),
            }
            per_op[system] = row["per_op"]
            rows.append(row)
        for row in rows[-len(SYSTEMS) :]:
            row["peer_ratio"] = (
                per_op["sqlite_saver"] / row["per_op"] if row["per_op"] > 0 else None
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    names = {
        "kitaru": "kitaru durable_graph",
        "sqlite_saver": "LangGraph SqliteSaver, durability=sync",
    }
    lines = [
        "| system | N node runs | recorded ops per run | plain graph run (ms) | durable run (ms) "
        "| added, whole run (ms) | added per recorded op, wall (CPU) ms "
        "| SqliteSaver per op / this |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['peer_ratio']:.1f}x" if r.get("peer_ratio") else "n/a"
        lines.append(
            f"| {names[r['system']]} | {r['n']} | {r['ops']:.0f} | {r['plain']:.0f} "
            f"| {r['durable']:.0f} | {r['added']:.0f} | {r['per_op']:.3f} ({r['per_op_cpu']:.3f}) "
            f"| {ratio} |"
        )
    return "\n".join(lines)


def write_docs(markdown: str, samples: int, load: tuple[float, float]) -> None:
    """Replace the block between the markers in docs/performance.md."""
    text = DOCS.read_text()
    begin, end = text.index(MARK_BEGIN), text.index(MARK_END)
    block = (
        f"{MARK_BEGIN}\n{samples} paired runs per system and N in alternating rounds, medians; "
        f"load average {load[0]:.1f} at the start and {load[1]:.1f} at the end, on "
        f"{os.cpu_count()} cores; langgraph {version('langgraph')}. Produced by "
        f"`python benchmarks/adapter_overhead_langgraph.py --write-docs`.\n\n{markdown}\n"
    )
    DOCS.write_text(text[:begin] + block + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400], help="node runs per run")
    parser.add_argument("--repeats", type=int, default=3, help="paired runs per system, N, round")
    parser.add_argument("--rounds", type=int, default=3, help="systems alternate in each round")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.repeats, args.workdir)))
        return
    load_before = os.getloadavg()[0]
    pooled: dict[str, list[dict[str, Any]]] = {name: [] for name in SYSTEMS}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            order = SYSTEMS if number % 2 == 0 else SYSTEMS[::-1]
            for name in order:
                print(f"round {number + 1}/{args.rounds}: {name} ...", file=sys.stderr)
                work = Path(tmp) / f"{name}-{number}"
                pooled[name].append(run_worker(name, args.n, args.repeats, work))
    rows = summarize(pooled, args.n)
    notes = "\n".join(f"- {name}: {pooled[name][0]['notes']}" for name in SYSTEMS)
    markdown = table(rows) + "\n\n" + notes
    print(markdown)
    if args.write_docs:
        write_docs(markdown, args.repeats * args.rounds, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
