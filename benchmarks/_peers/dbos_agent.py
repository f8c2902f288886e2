"""DBOS peer of adapter_overhead.py: the same agent wrapped in Pydantic AI's own ``DBOSAgent``.

Run with the ``dbos-pydantic-ai`` venv's python; prints one JSON object on stdout. For each N it
alternates the plain agent and ``DBOSAgent.run`` (a DBOS workflow, SQLite on disk), and
counts the steps one workflow recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _agent_workload import PROMPT, check, make_agent, options, timed
from dbos import DBOS, SetWorkflowID
from pydantic_ai.durable_exec.dbos import DBOSAgent


def main() -> None:
    """Parse arguments and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workdir", type=Path, required=True)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / "dbos_agent.sqlite"
    db.unlink(missing_ok=True)

    sizes = [10, *args.n]  # the first, N=10, warms up
    # DBOS registers workflows at import/construction time, before launch: one agent per N.
    plain = {n: make_agent(n) for n in sizes}
    durable = {n: DBOSAgent(make_agent(n, name=f"bench_{n}")) for n in sizes}
    DBOS(
        config={"name": "kitaru-bench-agent", "system_database_url": f"sqlite:///{db}"},
    )
    DBOS.launch()
    results: dict[str, dict[str, Any]] = {}
    for n in sizes:
        run_ms, plain_ms, run_cpu_ms, plain_cpu_ms = [], [], [], []
        workflow_id = ""
        for repeat in range(args.repeats):
            ms, cpu, result = timed(lambda: plain[n].run(PROMPT, **options(n)))  # noqa: B023
            check(result, n)
            plain_ms.append(ms)
            plain_cpu_ms.append(cpu)
            workflow_id = f"agent-{n}-{repeat}"

            async def run_durable() -> Any:
                with SetWorkflowID(workflow_id):  # noqa: B023
                    return await durable[n].run(PROMPT, **options(n))  # noqa: B023

            ms, cpu, result = timed(run_durable)
            check(result, n)
            run_ms.append(ms)
            run_cpu_ms.append(cpu)
        steps = len(DBOS.list_workflow_steps(workflow_id))
        results[str(n)] = {
            "plain_ms": plain_ms,
            "run_ms": run_ms,
            "plain_cpu_ms": plain_cpu_ms,
            "run_cpu_ms": run_cpu_ms,
            "ops": steps,
        }
    DBOS.destroy()
    del results["10"]
    print(
        json.dumps(
            {
                "peer": "dbos",
                "version": f"{version('dbos')}, pydantic-ai {version('pydantic-ai-slim')}",
                "results": results,
                "notes": "pydantic_ai.durable_exec.dbos.DBOSAgent.run awaited (one DBOS workflow "
                "per run) on a SQLite system database on disk; ops = steps one workflow "
                "recorded (DBOS.list_workflow_steps).",
            }
        )
    )


if __name__ == "__main__":
    main()
