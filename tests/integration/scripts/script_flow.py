"""A flow defined in a script run as ``python script_flow.py``: recorded by its file path."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

from script_helpers import weight

from kitaru import checkpoint, flow


@dataclasses.dataclass
class Score:
    index: int
    value: int


@checkpoint
def score(index: int) -> Score:
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as handle:
        handle.write(f"score:{index}\n")
    if os.environ.get("KITARU_TEST_KILL_AT") == f"score:{index}":
        os.kill(os.getpid(), signal.SIGKILL)
    return Score(index, weight(index))


@flow
def agent(count: int) -> dict[str, int]:
    scores = [score(index) for index in range(count)]
    return {"count": len(scores), "total": sum(s.value for s in scores)}


if __name__ == "__main__":
    print(json.dumps(agent(30)))
