"""Default serializers: JSON, Pydantic models, dataclasses, bytes; pickle as a last resort."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
from typing import Any

from kitaru_core.errors import SerializationError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import RegisterSerializer
from kitaru_core.store._serialization import (
    SCRIPT_MODULE,
    import_path,
    pydantic_loaded,
    type_path,
)

_JSON_SCALARS = (str, int, float, bool, type(None))


def is_plain_json(value: Any, depth: int = 0) -> bool:
    """True when ``value`` round-trips through JSON unchanged (no tuples, no non-str keys)."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if depth > 64:
        return False
    if kind is list:
        return all(is_plain_json(item, depth + 1) for item in value)
    if kind is dict:
        return all(type(k) is str and is_plain_json(v, depth + 1) for k, v in value.items())
    return False


class JsonSerializer:
    """Plain JSON data."""

    name = "json"
    priority = 0

    def accepts(self, value: Any) -> bool:
        return is_plain_json(value)

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


def _split_header(data: bytes) -> tuple[Any, bytes]:
    header, _, body = data.partition(b"\n")
    return import_path(header.decode()), body


class PydanticSerializer:
    """Pydantic models, stored as their JSON with the class path in front.

    Like dataclasses below, only when that JSON validates back to an equal value: values that
    do not match their annotations, excluded fields or JSON-lossy types (a set in an ``Any``
    field) fall through to the next serializer instead of being stored unreadable or changed.
    """

    name = "pydantic"
    priority = 10

    def accepts(self, value: Any) -> bool:
        if not pydantic_loaded():
            return False
        from pydantic import BaseModel

        return isinstance(value, BaseModel)

    def dumps(self, value: Any) -> bytes:
        body = value.model_dump_json(warnings="error")
        if type(value).model_validate_json(body) != value:
            raise ValueError("its JSON does not validate back to an equal model")
        return type_path(type(value)).encode() + b"\n" + body.encode()

    def loads(self, data: bytes) -> Any:
        cls, body = _split_header(data)
        return cls.model_validate_json(body)


class DataclassSerializer:
    """Dataclass instances, through Pydantic's validation of the dataclass type."""

    name = "dataclass"
    priority = 20

    def accepts(self, value: Any) -> bool:
        return dataclasses.is_dataclass(value) and not isinstance(value, type)

    def dumps(self, value: Any) -> bytes:
        from pydantic import TypeAdapter

        adapter = TypeAdapter(type(value))
        body = adapter.dump_json(value, warnings="error")
        back = adapter.validate_json(body)
        if any(getattr(back, f.name) != getattr(value, f.name) for f in dataclasses.fields(value)):
            raise ValueError("its JSON does not validate back to equal fields")
        return type_path(type(value)).encode() + b"\n" + body

    def loads(self, data: bytes) -> Any:
        from pydantic import TypeAdapter

        cls, body = _split_header(data)
        return TypeAdapter(cls).validate_json(body)


class BytesSerializer:
    """Raw bytes, stored as they are."""

    name = "bytes"
    priority = 30

    def accepts(self, value: Any) -> bool:
        return type(value) is bytes

    def dumps(self, value: Any) -> bytes:
        return value

    def loads(self, data: bytes) -> Any:
        return bytes(data)


class PickleSerializer:
    """Anything picklable. The last resort; its codec name marks every value it wrote."""

    name = "pickle"
    priority = 1000

    def accepts(self, value: Any) -> bool:
        return True

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        if b"main__" in data:  # may name a flow script's classes, as __main__ or imported
            return _ScriptAwareUnpickler(io.BytesIO(data)).load()
        return pickle.loads(data)


class _ScriptAwareUnpickler(pickle.Unpickler):
    """Finds a flow script's classes whether the script runs as ``__main__`` or was imported
    to resume its flow (the CLI, a client, a worker)."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("__main__", SCRIPT_MODULE):
            try:
                return import_path(f"{module}:{name}")
            except SerializationError:
                pass
        return super().find_class(module, name)


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    for serializer in (
        JsonSerializer(),
        PydanticSerializer(),
        DataclassSerializer(),
        BytesSerializer(),
        PickleSerializer(),
    ):
        register(serializer)
