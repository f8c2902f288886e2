"""Functions a flow calls: ``log``, ``save``, ``load``, ``idempotency_key``, the execution id."""

from __future__ import annotations

import json
import time
from typing import Any

from kitaru_core.client import KitaruClient
from kitaru_core.engine import _context
from kitaru_core.engine._runtime import ExecutionRun, check_storable
from kitaru_core.errors import KitaruError
from kitaru_core.store._ids import new_artifact_id
from kitaru_core.store._records import ArtifactRecord


def _require_run(what: str) -> ExecutionRun:
    run = _context.current_run()
    if run is None:
        raise KitaruError(f"kitaru.{what}() must be called while a @flow runs.")
    return run


def log(**metadata: Any) -> None:
    """Attach metadata to the current checkpoint, or to the execution outside one.

    Values must be JSON data (no NaN or infinity, which PostgreSQL cannot store); anything else
    raises :class:`KitaruError` here, before it is kept.
    """
    _check_metadata(metadata)
    scope = _context.current_operation()
    if scope is not None:
        scope.metadata.update(metadata)
        return
    run = _require_run("log")
    run.metadata.update(metadata)
    run.store.update_execution(run.exec_id, metadata=run.metadata)


def _check_metadata(metadata: dict[str, Any]) -> None:
    """Refuse what no store can hold (SQLite and PostgreSQL take the same JSON), before it is
    kept: a value that fails later would fail the write of a completed operation or of the
    execution's end."""
    for key, value in metadata.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise KitaruError(
                f"kitaru.log({key}=...) got a {type(value).__name__} that cannot be stored as "
                f"metadata ({exc}). Log JSON data: strings, numbers (not NaN or infinity), "
                "booleans, None, and lists or dicts of them; convert other values first, "
                "e.g. with str()."
            ) from exc


def current_execution_id() -> str:
    """The id of the execution that is running (to print or link it); fails outside a flow."""
    return _require_run("current_execution_id").exec_id


def idempotency_key() -> str:
    """A key that is the same every time this operation runs: use it for external side effects."""
    run = _require_run("idempotency_key")
    scope = _context.current_operation()
    return f"{run.exec_id}:{scope.op_id if scope is not None else 'flow'}"


def save(name: str, value: Any) -> str:
    """Store ``value`` as a new version of artifact ``name`` of this execution; returns its id.

    Each save has an identity like an operation's (the n-th save of ``name`` in the flow body
    or in one operation), so a resumed run that saves the same value again gets the version it
    saved before instead of a duplicate.
    """
    run = _require_run("save")
    check_storable("Artifact name", name)
    stored = run.encode(value, what=f"Artifact {name!r}")
    scope = _context.current_operation()
    parent = scope.op_id if scope is not None else "flow"
    save_id = run.log.next_identity(f"{parent}#save", name)
    for earlier in run.store.list_artifacts(exec_id=run.exec_id, name=name):
        if earlier.op_id == save_id and (earlier.codec, earlier.data, earlier.ref) == stored[:3]:
            return earlier.artifact_id
    record = ArtifactRecord(
        artifact_id=new_artifact_id(),
        exec_id=run.exec_id,
        name=name,
        version=0,
        codec=stored.codec,
        created_at=time.time(),
        size=stored.size,
        data=stored.data,
        ref=stored.ref,
        op_id=save_id,
    )
    return run.store.save_artifact(record).artifact_id


def load(exec_id: str, name: str) -> Any:
    """The latest version of artifact ``name`` saved by execution ``exec_id``."""
    return KitaruClient().artifacts.latest(exec_id, name).load()


def progress(message: str, **data: Any) -> None:
    """Publish a progress event from a running checkpoint or flow (best effort).

    It is recorded with the execution's logs (stream ``progress``), followed live by
    ``kitaru executions logs ID --follow`` and the dashboard, and never replayed. Outside a
    running flow it does nothing.
    """
    run = _context.current_run()
    if run is None:
        return
    event = {"message": str(message), "data": data}
    run.capture("progress", json.dumps(event, default=repr) + "\n")
