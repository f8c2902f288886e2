"""A flow the liveness tests run in a child process: its first checkpoint holds until released.

``hold`` appends its name to ``KITARU_TEST_SIDE_EFFECTS``, creates ``KITARU_TEST_HELD`` and then
waits for ``KITARU_TEST_RELEASE`` to exist, so the test decides when the owner moves on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from kitaru import checkpoint, flow


def side_effect(name: str) -> None:
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as handle:
        handle.write(f"{name}\n")


@checkpoint
def hold(value: int) -> int:
    side_effect("hold")
    Path(os.environ["KITARU_TEST_HELD"]).touch()
    release = Path(os.environ["KITARU_TEST_RELEASE"])
    deadline = time.monotonic() + 120
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} was never created")
        time.sleep(0.02)
    return value


@checkpoint
def add_one(value: int) -> int:
    side_effect("add_one")
    return value + 1


@flow
def held(value: int = 1) -> int:
    return add_one(hold(value))
