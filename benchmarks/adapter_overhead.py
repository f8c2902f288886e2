"""Adapter overhead: a Pydantic AI agent, plain, with Kitaru's DurableAgent, and with DBOSAgent.

    python benchmarks/adapter_overhead.py [--n 100 400] [--repeats 1] [--rounds 3] [--write-docs]

The agent (benchmarks/_agent_workload.py) runs offline on a ``FunctionModel`` and makes N tool
calls, one per model request, each returning ~800 bytes. Each system runs in a fresh
interpreter, DBOS in its own venv under benchmarks/.venvs (created on first use); the systems
alternate within each round and samples are pooled over rounds. Reported: the time a durable
run adds to the plain agent's, whole and per recorded operation (Kitaru: each model request and
each tool call; DBOS: each step it records), medians of (durable - plain) over paired samples.
Kitaru's side also runs the agent with Pydantic AI's durability layer alone (its capability
active, a backend that only runs each unit): what the layer itself costs, and what Kitaru adds
above it. ``--write-docs`` puts the table into docs/performance.md.
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
from _venvs import VENVS_DIR, ensure_venv  # noqa: E402

DOCS = HERE.parent / "docs" / "performance.md"
MARK_BEGIN = "<!-- adapter_overhead:begin -->"
MARK_END = "<!-- adapter_overhead:end -->"
PEERS: dict[str, tuple[str, list[str], Path]] = {
    "dbos": (
        "dbos-pydantic-ai",
        ["pydantic-ai-slim[dbos]==2.68.0", "dbos==3.4.0"],
        HERE / "_peers" / "dbos_agent.py",
    ),
}
TIMEOUT_S = 1800
SAMPLE_KEYS = ("plain_ms", "layer_ms", "run_ms", "plain_cpu_ms", "layer_cpu_ms", "run_cpu_ms")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def run_system(name: str, sizes: list[int], repeats: int, workdir: Path) -> dict[str, Any]:
    """One system's samples from a fresh interpreter; ``{"peer", "error"}`` if it failed."""
    if name == "kitaru":
        python, script = Path(sys.executable), HERE / "_kitaru_agent.py"
    else:
        venv, requirements, script = PEERS[name]
        try:
            python = ensure_venv(venv, requirements)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            return {"peer": name, "error": f"venv: {_last_line(str(exc))}"}
    cmd = [str(python), str(script), "--n", *map(str, sizes), "--repeats", str(repeats)]
    cmd += ["--workdir", str(workdir / name)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        return {"peer": name, "error": f"exit {proc.returncode}: {_last_line(proc.stderr)}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's rounds: samples pooled per N (each durable run stays paired with its plain)."""
    failed = [r for r in rounds if "error" in r]
    if failed:
        return failed[0]
    merged = dict(rounds[-1])
    merged["results"] = {
        n: {
            **{
                key: [s for r in rounds for s in r["results"][n][key]]
                for key in SAMPLE_KEYS
                if key in rounds[-1]["results"][n]
            },
            "ops": rounds[-1]["results"][n]["ops"],
        }
        for n in rounds[-1]["results"]
    }
    return merged


def _per_op(samples: dict[str, Any], durable: str, base: str, cpu: bool) -> float | None:
    """Median over paired samples of (``durable`` run - ``base`` run) / recorded operations."""
    suffix = "_cpu_ms" if cpu else "_ms"
    if f"{durable}{suffix}" not in samples or f"{base}{suffix}" not in samples:
        return None
    pairs = zip(samples[f"{durable}{suffix}"], samples[f"{base}{suffix}"], strict=True)
    return statistics.median((d - b) / samples["ops"] for d, b in pairs)


def summary(samples: dict[str, Any]) -> dict[str, Any]:
    """Medians of one system at one N: wall time, and CPU time where the system measured it."""
    added = [r - p for r, p in zip(samples["run_ms"], samples["plain_ms"], strict=True)]
    return {
        "ops": samples["ops"],
        "plain_ms": statistics.median(samples["plain_ms"]),
        "run_ms": statistics.median(samples["run_ms"]),
        "added_ms": statistics.median(added),
        **{
            f"{name}{'_cpu' if cpu else ''}": _per_op(samples, durable, base, cpu)
            for name, durable, base in (
                ("per_op", "run", "plain"),
                ("layer_per_op", "layer", "plain"),
                ("above_layer_per_op", "run", "layer"),
            )
            for cpu in (False, True)
        },
    }


def _ms(wall: float | None, cpu: float | None) -> str:
    """``wall (CPU)`` milliseconds, ``n/a`` when not measured."""
    if wall is None:
        return "n/a"
    return f"{wall:.3f} ({cpu:.3f})" if cpu is not None else f"{wall:.3f}"


def _ratio(dbos: float | None, this: float | None) -> str:
    return f"{dbos / this:.1f}x" if dbos is not None and this else "n/a"


def table(results: list[dict[str, Any]], sizes: list[int]) -> str:
    """A markdown table: one row per system and N, with the ratio to DBOS per recorded step.

    Per-op figures are wall time, with CPU time in brackets: on a shared machine the wall
    figures swing with the load, the CPU figures much less.
    """
    lines = [
        "| system | N tool calls | recorded ops per run | plain agent run (ms) | durable run (ms) "
        "| added, whole run (ms) | added per recorded op, wall (CPU) ms | DBOS per step / this, "
        "wall (CPU) | durability layer alone, per op, wall (CPU) ms | added per op above the "
        "layer, wall (CPU) ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ok = {r["peer"]: r for r in results if "error" not in r}
    for r in results:
        if "error" in r:
            lines.append(f"| {r['peer']} | unavailable: {r['error']} | | | | | | | | |")
    for n in map(str, sizes):
        dbos = summary(ok["dbos"]["results"][n]) if "dbos" in ok else None
        for name, r in ok.items():
            s = summary(r["results"][n])
            ratio = "n/a"
            if dbos is not None:
                ratio = _ratio(dbos["per_op"], s["per_op"])
                if dbos["per_op_cpu"] is not None and s["per_op_cpu"] is not None:
                    ratio += f" ({_ratio(dbos['per_op_cpu'], s['per_op_cpu'])})"
            lines.append(
                f"| {name} {r['version']} | {n} | {s['ops']} | {s['plain_ms']:.0f} | "
                f"{s['run_ms']:.0f} | {s['added_ms']:.0f} | {_ms(s['per_op'], s['per_op_cpu'])} "
                f"| {ratio} | {_ms(s['layer_per_op'], s['layer_per_op_cpu'])} | "
                f"{_ms(s['above_layer_per_op'], s['above_layer_per_op_cpu'])} |"
            )
    return "\n".join(lines)


def notes(results: list[dict[str, Any]]) -> str:
    """What each system's script says it measured."""
    return "\n".join(f"- {r['peer']}: {r['notes']}" for r in results if r.get("notes"))


def write_docs(markdown: str, samples: int, load: tuple[float, float]) -> None:
    """Replace the table between the markers in docs/performance.md."""
    text = DOCS.read_text()
    begin, end = text.index(MARK_BEGIN), text.index(MARK_END)
    block = (
        f"{MARK_BEGIN}\n{samples} runs per system and N in alternating rounds, medians; load "
        f"average {load[0]:.1f} at the start and {load[1]:.1f} at the end, on {os.cpu_count()} "
        f"cores. Produced by `python benchmarks/adapter_overhead.py --write-docs`.\n\n"
        f"{markdown}\n"
    )
    DOCS.write_text(text[:begin] + block + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400], help="tool calls per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system, N and round")
    parser.add_argument("--rounds", type=int, default=3, help="systems alternate in each round")
    parser.add_argument("--peers", nargs="*", default=list(PEERS))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    systems = ["kitaru", *args.peers]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in systems}
    with tempfile.TemporaryDirectory(dir=VENVS_DIR) as tmp:  # on disk, git-ignored
        for number in range(args.rounds):
            # Alternating systems within each round spreads this machine's speed swings
            # evenly over all of them, so the ratios stay fair.
            order = systems if number % 2 == 0 else systems[::-1]
            for name in order:
                print(f"round {number + 1}/{args.rounds}: {name} ...", file=sys.stderr)
                work = Path(tmp) / f"round-{number}"
                rounds[name].append(run_system(name, args.n, args.repeats, work))
    results = [merge(rounds[name]) for name in systems]
    markdown = table(results, args.n) + "\n\n" + notes(results)
    print(markdown)
    if args.write_docs:
        write_docs(markdown, args.repeats * args.rounds, (load_before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
