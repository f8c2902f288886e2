"""Store calls as JSON: how the HTTP store and the server exchange records, bytes and errors.

Tags keep the encoding unambiguous: ``{"$b": base64}`` bytes, ``{"$r": [type, fields]}`` a
record, ``{"$d": {...}}`` a dict, ``{"$t": [...]}`` a tuple; lists and scalars are themselves.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

from kitaru_core import errors
from kitaru_core.store import _records

RECORD_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        _records.ExecutionRecord,
        _records.OperationRecord,
        _records.StartedRecord,
        _records.LogRecord,
        _records.ArtifactRecord,
        _records.WaitRecord,
        _records.AdapterRecord,
        _records.DeploymentRecord,
    )
}

STORE_METHODS = frozenset(
    {
        "create_execution",
        "get_execution",
        "list_executions",
        "find_child",
        "suspend_on_children",
        "wake_parent",
        "count_executions",
        "update_execution",
        "suspend_execution",
        "transition",
        "claim_execution",
        "renew_leases",
        "load_operations",
        "record_operation",
        "append_logs",
        "write_progress",
        "load_started",
        "get_logs",
        "save_artifact",
        "list_artifacts",
        "get_artifact",
        "create_wait",
        "get_waits",
        "answer_wait",
        "answer_wait_and_queue",
        "reopen_wait",
        "append_adapter_log",
        "read_adapter_log",
        "list_adapter_logs",
        "delete_adapter_logs",
        "put_adapter_records",
        "scan_adapter_records",
        "delete_adapter_records",
        "save_deployment",
        "list_deployments",
        "deployment_tags",
        "set_deployment_tag",
        "delete_deployment",
        "list_deployment_executions",
    }
)
"""Store methods a client may call through the server (never the token methods)."""


class WireError(ValueError):
    """A message that does not follow the wire encoding."""


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if dataclasses.is_dataclass(value) and type(value).__name__ in RECORD_TYPES:
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"$r": [type(value).__name__, fields]}
    if isinstance(value, dict):
        return {"$d": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, tuple):
        return {"$t": [encode(v) for v in value]}
    if isinstance(value, list | set | frozenset):
        return [encode(v) for v in value]
    raise WireError(f"Cannot send a {type(value).__name__} to the store over HTTP.")


def decode(data: Any) -> Any:
    """The value :func:`encode` made ``data`` from; :class:`WireError` when malformed."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("Malformed store message: expected a tagged object.")
    ((tag, inner),) = data.items()
    try:
        if tag == "$b":
            return base64.b64decode(inner, validate=True)
        if tag == "$d":
            return {str(k): decode(v) for k, v in dict(inner).items()}
        if tag == "$t":
            return tuple(decode(v) for v in inner)
        if tag == "$r":
            name, fields = inner
            return RECORD_TYPES[name](**{k: decode(v) for k, v in dict(fields).items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"Malformed store message ({tag}): {exc}") from exc
    raise WireError(f"Malformed store message: unknown tag {tag!r}.")


def encode_error(exc: BaseException) -> dict[str, Any]:
    """A Kitaru error as data: its class name, message and plain attributes."""
    attrs = {
        k: v for k, v in vars(exc).items() if isinstance(v, str | int | float | bool | type(None))
    }
    return {"type": type(exc).__name__, "message": str(exc), "attrs": attrs}


def decode_error(data: dict[str, Any]) -> errors.KitaruError:
    """The Kitaru error :func:`encode_error` described (a StoreError when unknown here)."""
    cls = getattr(errors, str(data.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.KitaruError)):
        return errors.StoreError(str(data.get("message")))
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(data.get("message")))
    exc.__dict__.update(data.get("attrs") or {})
    return exc
