"""A replay execution as the engine runs it: what it inherits from its source, read from the
stored replay plan (``replay_plan``, written by :mod:`kitaru_core.replay`).

A resumed replay inherits the same operations as its first run, so the runner and waits read
the plan here, below the replay module that builds it.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from kitaru_core.store._inputs import outline_input
from kitaru_core.store._records import OperationRecord
from kitaru_core.store._store import Store

OVERRIDE_MARK = "kitaru.override"
"""Metadata key set on an operation whose output came from a replay override."""


def _within(record: OperationRecord) -> str | None:
    """The enclosing operation of a nested wait, from its recorded inputs."""
    if record.kind != "wait" or not (record.input_text or record.input_parts):
        return None
    text = record.input_text
    if text is None:  # large inputs: "within" is a short value, kept in the row
        text = outline_input(record.input_parts or [], lambda part: "null")
    try:
        within = json.loads(text).get("within")
    except (ValueError, AttributeError):
        return None
    return within if isinstance(within, str) else None


def inherited_records(store: Store, plan: dict[str, Any]) -> dict[str, OperationRecord]:
    """The operations a replay may reuse, by operation id: the source's completed operations
    before ``from``, then the overrides."""
    source, start, before = plan["source"], plan.get("from"), plan["before_seq"]
    inherited = {
        record.op_id: record
        for record in store.load_operations(source)
        if record.status == "completed"
        and (record.seq or 0) < before
        and (start is None or _within(record) != start)
    }
    now = time.time()
    for spec in plan.get("overrides", []):
        data = spec.get("data")
        inherited[spec["op_id"]] = OperationRecord(
            exec_id=source,
            op_id=spec["op_id"],
            name=spec["name"],
            kind=spec["kind"],
            fingerprint=spec["fingerprint"],
            n=spec["n"],
            attempt=1,
            status="completed",
            started_at=now,
            ended_at=now,
            input_text=spec.get("input_text"),
            input_parts=spec.get("input_parts"),
            output_codec=spec["codec"],
            output=base64.b64decode(data) if data is not None else None,
            output_ref=spec.get("ref"),
            metadata={OVERRIDE_MARK: True},
        )
    return inherited


def preset_answer(plan: dict[str, Any] | None, name: str) -> tuple[bool, Any]:
    """``(True, answer)`` when a replay's ``wait.NAME`` override answers waits named ``name``."""
    answers = (plan or {}).get("answers") or {}
    if name in answers:
        return True, answers[name]
    return False, None
