"""Kitaru quickstart: a three-step writing agent that survives a crash.

Runs on the embedded default (SQLite + a local folder under ~/.kitaru): no server, no keys.

    python examples/quickstart.py                 # runs to the end
    python examples/quickstart.py --crash         # dies half-way (like kill -9)
    kitaru executions resume <ID printed above>   # finishes, reusing the finished steps
"""

from __future__ import annotations

import os
import signal
import sys

import kitaru
from kitaru import checkpoint, flow


@checkpoint
def research(topic: str) -> list[str]:
    """Pretend to search the web; a real agent would call a model or a tool here."""
    print(f"researching {topic!r}")
    return [f"{topic} is durable", f"{topic} resumes after crashes"]


@checkpoint
def write_draft(topic: str, notes: list[str]) -> str:
    """Turn notes into a draft."""
    print("writing the draft")
    if os.environ.get("QUICKSTART_CRASH") == "1":
        exec_id = kitaru.current_execution_id()
        print(f"simulating a crash in the middle of write_draft of execution {exec_id}")
        print(f"resume it with: kitaru executions resume {exec_id}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return f"{topic.title()}: " + "; ".join(notes) + "."


@checkpoint
def polish(draft: str) -> str:
    """Final edit."""
    print("polishing")
    return draft.replace(";", ",")


@flow
def writing_agent(topic: str) -> str:
    """Research, draft, polish: each step is recorded once and reused after a crash."""
    notes = research(topic)
    draft = write_draft(topic, notes)
    kitaru.log(words=len(draft.split()))
    return polish(draft)


def main() -> None:
    if "--crash" in sys.argv:
        os.environ["QUICKSTART_CRASH"] = "1"
        print("This run will be killed inside write_draft. Afterwards run:")
        print("  kitaru executions list          # shown as failed: its process died")
        print("  kitaru executions resume <ID>   # ID printed before the kill; research reused\n")
    handle = writing_agent.run("kitaru")
    print(f"\nresult: {handle.wait()}")
    print(f"execution: {handle.exec_id}  (see it with `kitaru executions get {handle.exec_id}`)")


if __name__ == "__main__":
    main()
