"""Storing a value: serialized by the registry, inline when small, else a content-addressed blob."""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple

from kitaru_core._config import Settings
from kitaru_core.store._backends import current_blob_store
from kitaru_core.store._records import OperationRecord
from kitaru_core.store._serialization import get_registry

ARGS_CODEC = "kitaru-args"


class StoredValue(NamedTuple):
    """A serialized value: inline ``data`` when small, else the ``ref`` of a blob."""

    codec: str
    data: bytes | None
    ref: str | None
    size: int


def encode(value: Any, *, what: str, settings: Settings) -> StoredValue:
    """Serialize ``value``; exactly one of ``data`` and ``ref`` is set."""
    codec, data = get_registry().dumps(value, what=what)
    if len(data) <= settings.inline_limit:
        return StoredValue(codec, data, None, len(data))
    return StoredValue(codec, None, current_blob_store(settings).put(data), len(data))


def decode(
    codec: str | None, data: bytes | None, ref: str | None, *, what: str, settings: Settings
) -> Any:
    """The value that :func:`encode` stored."""
    if codec is None:
        return None
    if ref is not None:
        data = current_blob_store(settings).get(ref)
    return get_registry().loads(codec, data or b"", what=what)


def stored_size(data: bytes | None, ref: str | None, *, settings: Settings) -> int | None:
    """Bytes of a stored value, without reading a blob; None when nothing is stored."""
    if ref is not None:
        size = getattr(current_blob_store(settings), "size", None)  # plugin stores may lack it
        return None if size is None else int(size(ref))
    return None if data is None else len(data)


def operation_input(record: OperationRecord, *, settings: Settings) -> str | None:
    """An operation's recorded inputs (canonical JSON), read back from blobs when large."""
    if record.input_parts is None:
        return record.input_text
    from kitaru_core.store._inputs import join_input

    return join_input(record.input_parts, current_blob_store(settings).get)


def encode_arguments(
    arguments: dict[str, Any], *, what: str, settings: Settings | None = None
) -> bytes:
    """A flow's bound arguments, each serialized on its own so one odd type spoils nothing.

    Each is ``[codec, base64]``; with ``settings``, one over the inline limit is
    ``[codec, None, blob digest]`` in the artifact store instead.
    """
    registry = get_registry()
    encoded: dict[str, list[Any]] = {}
    for name, value in arguments.items():
        codec, data = registry.dumps(value, what=f"{what} argument {name!r}")
        if settings is not None and len(data) > settings.inline_limit:
            encoded[name] = [codec, None, current_blob_store(settings).put(data)]
        else:
            encoded[name] = [codec, base64.b64encode(data).decode()]
    return json.dumps(encoded).encode()


def decode_arguments(
    data: bytes | None, *, what: str, settings: Settings | None = None
) -> dict[str, Any]:
    """Inverse of :func:`encode_arguments` (``settings`` name the artifact store of blobs)."""
    if not data:
        return {}
    registry = get_registry()
    arguments = {}
    for name, (codec, payload, *ref) in json.loads(data).items():
        raw = current_blob_store(settings).get(ref[0]) if ref else base64.b64decode(payload)
        arguments[name] = registry.loads(codec, raw, what=f"{what} argument {name!r}")
    return arguments
