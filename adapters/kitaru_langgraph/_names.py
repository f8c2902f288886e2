"""The operation names this adapter records, by kind: persisted data, pinned by the contract kit.

Each node run is ``langgraph__node.<node>``, each functional-API task run
``langgraph__task.<task>``; the start of a graph run that has a checkpointer is
``langgraph__graph.<graph>.start``. A stored execution resumes only while these stay the same.
"""

from __future__ import annotations

NODE_PREFIX = "langgraph__node."
TASK_PREFIX = "langgraph__task."
START_PREFIX = "langgraph__graph."

OPERATION_NAMES: dict[str, tuple[str, ...]] = {
    "node": (f"{NODE_PREFIX}*",),
    "task": (f"{TASK_PREFIX}*",),
    "graph": (f"{START_PREFIX}*.start",),
}
