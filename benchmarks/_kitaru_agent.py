"""Kitaru's side of adapter_overhead.py: prints one JSON object of raw samples (ms).

Run with the project's python: ``python benchmarks/_kitaru_agent.py --n 100 400 --repeats 2
--workdir DIR``. For each N it alternates the plain agent and ``DurableAgent`` in a ``@flow``
(SQLite on disk), and counts the operations one durable run recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _agent_workload import PROMPT, check, make_agent, options, timed_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    os.environ["KITARU_HOME"] = str(args.workdir / "kitaru")

    import kitaru
    from kitaru.adapters.pydantic_ai import DurableAgent

    results: dict[str, dict[str, Any]] = {}
    for n in [10, *args.n]:  # the first, N=10, warms up: store, migrations, lazy imports
        plain = make_agent(n)
        durable = DurableAgent(make_agent(n), name=f"bench_{n}")

        @kitaru.flow(name=f"agent_{n}")
        async def run_durable() -> Any:
            return await durable.run(PROMPT, **options(n))  # noqa: B023 - called in this iteration only

        run_ms, plain_ms = [], []
        for _ in range(args.repeats):
            ms, result = timed_ms(lambda: plain.run(PROMPT, **options(n)))  # noqa: B023
            check(result, n)
            plain_ms.append(ms)
            ms, result = timed_ms(run_durable)
            check(result, n)
            run_ms.append(ms)
        latest = kitaru.KitaruClient().executions.latest(flow=f"agent_{n}")
        assert latest is not None and latest.status == "completed"
        ops = len(latest.operations)
        results[str(n)] = {"plain_ms": plain_ms, "run_ms": run_ms, "ops": ops}
    del results["10"]
    print(
        json.dumps(
            {
                "peer": "kitaru",
                "version": kitaru.__version__,
                "results": results,
                "notes": "DurableAgent (strategy='calls') awaited inside an async @flow; SQLite on "
                "disk (WAL, synchronous=NORMAL, the default); ops = operations one run recorded.",
            }
        )
    )


if __name__ == "__main__":
    main()
