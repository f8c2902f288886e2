"""Flows for the fan-out crash tests (tests/integration/test_fanout_subprocess.py).

Every checkpoint body appends ``name:child:step`` to ``KITARU_TEST_SIDE_EFFECTS`` before its
work, so the test counts real runs. ``KITARU_TEST_KILL_AT`` names the side effect after which
the process kills itself with SIGKILL (all of it: the parent and the children in its threads).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import kitaru
from kitaru import checkpoint, flow


def _side_effect(text: str) -> None:
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as out:
        out.write(text + "\n")
        out.flush()
    if os.environ.get("KITARU_TEST_KILL_AT") == text:
        os.kill(os.getpid(), signal.SIGKILL)


@checkpoint
def research(i: int, step: int) -> int:
    _side_effect(f"research:{i}:{step}")
    time.sleep(0.05)
    return i * 10 + step


@flow
def researcher(i: int) -> int:
    return research(i, 1) + research(i, 2)


@checkpoint
def summarize(parts: list[int]) -> int:
    _side_effect("summarize")
    return sum(parts)


@flow(max_concurrency=1)
def orchestrator(n: int) -> int:
    """Children one at a time, so where the kill lands is exact."""
    handles = [researcher.run(i) for i in range(n)]
    return summarize(kitaru.gather(*handles))


@flow
def asks(i: int) -> int:
    approved = kitaru.wait(bool, name="approve", question=f"Use part {i}?", timeout=0)
    return research(i, 1) if approved else 0


@flow
def waits_on_a_human(n: int) -> int:
    return summarize(kitaru.gather(*[asks.run(i) for i in range(n)]))


@checkpoint
def tick(i: int, k: int) -> int:
    _side_effect(f"tick:{i}:{k}")
    time.sleep(0.1)
    return k


@flow
def ticker(i: int) -> int:
    return sum(tick(i, k) for k in range(600))


@flow
def long_fan_out(n: int) -> list[int]:
    return kitaru.gather(*[ticker.run(i) for i in range(n)])


def main() -> None:
    """``python -c 'import fanout_flows; fanout_flows.main()' FLOW N``: run, print the end."""
    chosen = {f.name: f for f in (orchestrator, waits_on_a_human, long_fan_out)}[sys.argv[1]]
    handle = chosen.run(int(sys.argv[2]))
    try:
        result = handle.wait()
    except kitaru.KitaruError as exc:
        result = type(exc).__name__
    print(json.dumps({"exec_id": handle.exec_id, "status": handle.status, "result": result}))
