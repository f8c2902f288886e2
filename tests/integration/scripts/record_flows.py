"""Flows that the records tests kill with SIGKILL while a step is still running.

A step writes the file named by ``KITARU_TEST_READY`` once it has printed (or started its slow
part), then sleeps ``KITARU_TEST_SLEEP`` seconds (default 0: a resume finishes at once), so the
test kills the child at a known point without racing it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from kitaru import checkpoint, flow


def _ready_then_sleep() -> None:
    ready = os.environ.get("KITARU_TEST_READY")
    if ready:
        Path(ready).write_text("ready")
    time.sleep(float(os.environ.get("KITARU_TEST_SLEEP", "0")))


@checkpoint
def quick(index: int) -> int:
    return index + 1


@checkpoint
def chatty(count: int) -> int:
    for number in range(count):
        print(f"line {number} from chatty", flush=True)
    _ready_then_sleep()
    return count


@checkpoint
def slow(index: int) -> int:
    _ready_then_sleep()
    return index * 10


@flow
def prints_then_hangs(count: int = 3) -> int:
    print("flow started")
    return chatty(quick(count - 1))


@flow
def long_step(index: int = 4) -> int:
    return slow(quick(index)) + quick(0)
