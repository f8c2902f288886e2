"""Flows the crash tests run in a child process and kill with SIGKILL.

Every checkpoint appends ``name:index`` to the file named by ``KITARU_TEST_SIDE_EFFECTS`` before
doing anything else, so the test can count how often each one really ran. The checkpoint named by
``KITARU_TEST_KILL_AT`` (``name:index``) kills its own process right after that append; the one
named by ``KITARU_TEST_FAIL_AT`` raises instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

from kitaru import checkpoint, flow


def side_effect(name: str, index: int) -> None:
    """Count one real execution of a checkpoint body; die here if the test asked for it."""
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as handle:
        handle.write(f"{name}:{index}\n")
    if os.environ.get("KITARU_TEST_KILL_AT") == f"{name}:{index}":
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get("KITARU_TEST_FAIL_AT") == f"{name}:{index}":
        raise RuntimeError(f"{name}:{index} failed on purpose")


# thirty sequential checkpoints ------------------------------------------------------------------


@checkpoint
def step(index: int, total: int) -> int:
    side_effect("step", index)
    return total + index * index


@flow
def thirty(count: int = 30) -> int:
    total = 0
    for index in range(count):
        total = step(index, total)
    return total


# an async flow that gathers checkpoints in batches ----------------------------------------------


@checkpoint
async def fetch(index: int, base: int) -> int:
    side_effect("fetch", index)
    await asyncio.sleep(0.002 * (index * 7 % 5))
    if os.environ.get("KITARU_TEST_KILL_AT") == f"fetch-late:{index}":
        os.kill(os.getpid(), signal.SIGKILL)
    return base + index


@flow
async def gathered(batches: int = 6, width: int = 5) -> int:
    base = 0
    for batch in range(batches):
        indexes = [batch * width + j for j in range(width)]
        if os.environ.get("KITARU_TEST_REVERSE"):
            indexes.reverse()
        results = await asyncio.gather(*(fetch(index, base) for index in indexes))
        base = sum(results)
    return base


# a flow whose inputs come from a config file the test edits between crash and resume ------------


@checkpoint
def prepare(index: int, value: int) -> int:
    side_effect("prepare", index)
    return value * 10


@checkpoint
def finish(index: int, prepared: int) -> int:
    side_effect("finish", index)
    return prepared + index


@checkpoint
def report(finished: list[int]) -> int:
    side_effect("report", 0)
    return sum(finished)


@flow
def configured(config_path: str) -> int:
    # Read in the body, not in a checkpoint: the body runs again on resume, so an edited file
    # changes the inputs of the checkpoints it feeds.
    values = json.loads(Path(config_path).read_text())["values"]
    finished = []
    for index, value in enumerate(values):
        finished.append(finish(index, prepare(index, value)))
    return report(finished)
