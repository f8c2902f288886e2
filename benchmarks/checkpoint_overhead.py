"""Checkpoint overhead: Kitaru against DBOS and LangGraph, in one run, on the same disk.

    python benchmarks/checkpoint_overhead.py [--steps 200] [--repeats 5] [--rounds 3] [--write-docs]
    python benchmarks/checkpoint_overhead.py --otel [--steps 200] [--repeats 5] [--rounds 5]

Measures, for a flow of N trivial steps on a SQLite file on disk: per-step overhead over plain
Python (median over repeats), the time to resume an execution whose 1,000 steps are all recorded,
and cold import time. Each peer runs in its own venv under benchmarks/.venvs (created on first
use). ``--write-docs`` puts the table into docs/performance.md.

``--otel`` compares Kitaru with itself instead: the OpenTelemetry plugin unregistered, the
plugin installed with no tracer provider (the default; it must cost nothing measurable), and
tracing on (an SDK provider keeping spans in memory). It reports wall and CPU time per step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers.run_peers import run_peer  # noqa: E402
from _venvs import VENVS_DIR  # noqa: E402

DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- checkpoint_overhead:begin -->"
MARK_END = "<!-- checkpoint_overhead:end -->"


def run_kitaru(
    durability: str,
    steps: int,
    repeats: int,
    workdir: Path,
    store_url: str | None = None,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Kitaru's half, in a fresh interpreter like the peers (on SQLite unless ``store_url``)."""
    cmd = [
        sys.executable,
        str(HERE / "_kitaru_steps.py"),
        "--steps",
        str(steps),
        "--repeats",
        str(repeats),
        "--durability",
        durability,
        "--workdir",
        str(workdir),
        *(["--store-url", store_url] if store_url else []),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        return {"peer": f"kitaru ({durability})", "error": proc.stderr.strip()[-300:]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def run_kitaru_on(store_url: str, steps: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """Kitaru's half on the store at ``store_url`` (benchmarks/postgres_store.py)."""
    return run_kitaru("process", steps, repeats, workdir, store_url)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(results: list[dict[str, Any]]) -> str:
    """A markdown table of medians, with ratios against Kitaru's default durability."""
    base = next(r for r in results if r.get("peer") == "kitaru (process)")
    base_step = statistics.median(base["per_step_ms"]) if "error" not in base else None
    lines = [
        "| system | per-step overhead, median (ms) | slower than Kitaru | "
        "resume 1,000 recorded steps (ms) | cold import (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        name = f"{r['peer']} {r.get('version', '')}".strip()
        if "error" in r:
            lines.append(f"| {name} | unavailable: {r['error']} | | | |")
            continue
        step = statistics.median(r["per_step_ms"])
        ratio = f"{step / base_step:.1f}x" if base_step else "n/a"
        lines.append(
            f"| {name} | {_fmt(step)} | {ratio} | {_fmt(r.get('resume_1000_ms'), 1)} | "
            f"{_fmt(r.get('import_ms'), 0)} |"
        )
    return "\n".join(lines)


def notes(results: list[dict[str, Any]]) -> str:
    """What each system's script says it measured."""
    return "\n".join(f"- {r['peer']}: {r['notes']}" for r in results if r.get("notes"))


def write_docs(markdown: str, steps: int, repeats: int) -> None:
    """Replace the table between the markers in docs/performance.md."""
    text = DOCS.read_text()
    begin, end = text.index(MARK_BEGIN), text.index(MARK_END)
    block = (
        f"{MARK_BEGIN}\nN={steps} steps, {repeats} repeats in alternating rounds, medians. "
        "Produced by "
        f"`python benchmarks/checkpoint_overhead.py --write-docs`.\n\n{markdown}\n"
    )
    DOCS.write_text(text[:begin] + block + text[end:])


def merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's results over several rounds: samples pooled, scalars by median."""
    failed = [r for r in rounds if "error" in r]
    if failed:
        return failed[0]
    merged = dict(rounds[-1])
    for key in ("run_ms", "plain_ms", "per_step_ms"):
        merged[key] = [sample for r in rounds for sample in r[key]]
    for key in ("import_ms", "resume_1000_ms"):
        values = [r[key] for r in rounds if r.get(key) is not None]
        merged[key] = statistics.median(values) if values else None
    return merged


OTEL_SYSTEMS: dict[str, tuple[str, ...]] = {
    "no otel plugin": ("--without-plugin", "otel"),
    "otel plugin, no provider": (),
    "otel plugin, SDK provider": ("--tracer", "sdk"),
}


def otel_table(results: dict[str, dict[str, Any]]) -> str:
    """Medians per step, wall and CPU, with ratios against the run without the plugin."""
    base = results["no otel plugin"]
    lines = [
        "| kitaru (process) | per-step wall (ms) | ratio | per-step CPU (ms) | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    base_wall = statistics.median(base["per_step_ms"])
    base_cpu = statistics.median(base["per_step_cpu_ms"])
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | unavailable: {r['error']} | | | |")
            continue
        wall, cpu = statistics.median(r["per_step_ms"]), statistics.median(r["per_step_cpu_ms"])
        lines.append(
            f"| {name} | {wall:.4f} | {wall / base_wall:.3f} | {cpu:.4f} | {cpu / base_cpu:.3f} |"
        )
    return "\n".join(lines)


def run_otel(steps: int, repeats: int, rounds: int) -> None:
    """The OpenTelemetry plugin's cost: see the module's docstring."""
    load_before = os.getloadavg()
    pooled: dict[str, list[dict[str, Any]]] = {name: [] for name in OTEL_SYSTEMS}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(rounds):
            for name, extra in OTEL_SYSTEMS.items():
                print(f"round {number + 1}/{rounds}: {name} ...", file=sys.stderr)
                work = Path(tmp) / f"round-{number}-{len(pooled[name])}-{name[:8]}"
                pooled[name].append(run_kitaru("process", steps, repeats, work, extra=extra))
    results = {}
    for name, samples in pooled.items():
        failed = [r for r in samples if "error" in r]
        results[name] = (
            failed[0]
            if failed
            else {
                key: [x for r in samples for x in r[key]]
                for key in ("per_step_ms", "per_step_cpu_ms")
            }
        )
    load_after = os.getloadavg()
    print(otel_table(results))
    print(
        f"\nN={steps} steps, {repeats} repeats x {rounds} alternating rounds, medians. "
        f"Load average (1, 5, 15 min) before {load_before}, after {load_after}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="repeats per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; systems alternate within each round"
    )
    parser.add_argument("--peers", nargs="*", default=["dbos", "langgraph"])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--otel", action="store_true", help="the OpenTelemetry plugin's cost")
    args = parser.parse_args()
    if args.otel:
        run_otel(args.steps, args.repeats, args.rounds)
        return
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    systems = ["kitaru (process)", "kitaru (power)", *args.peers]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    with tempfile.TemporaryDirectory(dir=VENVS_DIR) as tmp:  # on disk, git-ignored
        for number in range(args.rounds):
            # Alternating systems within each round spreads this machine's speed swings
            # evenly over all of them, so the ratios stay fair.
            work = Path(tmp) / f"round-{number}"
            for name in systems:
                print(f"round {number + 1}/{args.rounds}: {name} ...", file=sys.stderr)
                if name.startswith("kitaru"):
                    durability = name.split("(")[1].rstrip(")")
                    result = run_kitaru(durability, args.steps, args.repeats, work)
                else:
                    result = run_peer(name, args.steps, args.repeats, work)
                rounds[name].append(result)
    results = [merge(rounds[name]) for name in systems]
    markdown = table(results) + "\n\n" + notes(results)
    print(markdown)
    if args.write_docs:
        write_docs(markdown, args.steps, args.repeats * args.rounds)


if __name__ == "__main__":
    main()
