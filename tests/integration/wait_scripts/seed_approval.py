"""The seed example of issue 3: write a draft, ask a human to approve it, publish.

Usage: seed_approval.py TOPIC. Prints ``{"exec_id": ..., "status": ...}``. The draft checkpoint
appends a line to ``$KITARU_TEST_SIDE_EFFECTS`` each time its body runs; ``$WAIT_TIMEOUT`` is how
long the wait polls before the execution suspends (default 0).
"""

from __future__ import annotations

import json
import os
import sys

import kitaru
from kitaru import checkpoint, flow


@checkpoint
def draft(topic: str) -> str:
    with open(os.environ["KITARU_TEST_SIDE_EFFECTS"], "a") as effects:
        effects.write("draft\n")
    return f"Kitaru keeps {topic} alive across crashes."


@flow
def publish(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(
        schema=bool,
        name="approve",
        question=f"Approve this draft?\n\n{text}",
        timeout=float(os.environ.get("WAIT_TIMEOUT", "0")),
    )
    return f"published: {text}" if approved else "rejected"


if __name__ == "__main__":
    handle = publish.run(sys.argv[1])
    print(json.dumps({"exec_id": handle.exec_id, "status": handle.status}), flush=True)
