"""Kitaru's side of adapter_overhead.py: prints one JSON object of raw samples (ms).

Run with the project's python: ``python benchmarks/_kitaru_agent.py --n 100 400 --repeats 2
--workdir DIR``. For each N it alternates the plain agent, the agent with Pydantic AI's
durability layer alone (``layer_ms``: its capability active, with a backend that only runs each
unit, no flow, nothing recorded) and ``DurableAgent`` in a ``@flow`` (SQLite on disk), and counts
the operations one durable run recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _agent_workload import PROMPT, check, make_agent, options, timed


def layer_only(name: str) -> Any:
    """Pydantic AI's durability capability on Kitaru's engine spec, doing nothing durable.

    Every model request and tool call goes through the durable layer (its codec's dump and
    load, the wrapped model and toolsets) and the backend only runs it: the layer's own cost,
    which any engine built on it pays.
    """
    from pydantic_ai.durable_exec import (
        BaseDurabilityCapability,
        JournalCallableOperationBackend,
        RoleBasedOperationConfig,
    )

    from kitaru.adapters.pydantic_ai import KitaruDurability

    class PassThrough(JournalCallableOperationBackend[None]):
        async def execute(self, *, body: Any, **_: Any) -> object:
            return await body()

    class LayerOnly(BaseDurabilityCapability[Any]):
        engine_spec = KitaruDurability.engine_spec

        @property
        def in_durable_context(self) -> bool:
            return True

        def get_durable_operation_backend(self) -> PassThrough:
            config = RoleBasedOperationConfig(model=None, event=None, capability=None, tool=None)
            return PassThrough(agent_name=self.name, config=config)

    return LayerOnly(name=name)


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

        layer = [layer_only(f"layer_{n}")]
        samples: dict[str, list[float]] = {
            key: [] for key in ("plain", "layer", "run") for key in (f"{key}_ms", f"{key}_cpu_ms")
        }
        runs = {
            "plain": lambda: plain.run(PROMPT, **options(n)),  # noqa: B023
            "layer": lambda: plain.run(PROMPT, capabilities=layer, **options(n)),  # noqa: B023
            "run": run_durable,
        }
        for _ in range(args.repeats):
            for key, start_run in runs.items():
                wall, cpu, result = timed(start_run)
                check(result, n)
                samples[f"{key}_ms"].append(wall)
                samples[f"{key}_cpu_ms"].append(cpu)
        latest = kitaru.KitaruClient().executions.latest(flow=f"agent_{n}")
        assert latest is not None and latest.status == "completed"
        ops = len(latest.operations)
        results[str(n)] = {**samples, "ops": ops}
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
