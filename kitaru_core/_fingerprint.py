"""Operation identity: a stable hash of canonically serialized arguments."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import inspect
import json
import pickle
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from kitaru_core._serialization import pydantic_loaded

IGNORED_PARAMETERS = frozenset({"self", "cls"})


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _canonical_default(obj: Any) -> Any:
    """Map a value JSON does not know to a deterministic JSON form."""
    if pydantic_loaded():
        from pydantic import BaseModel

        if isinstance(obj, BaseModel):
            return {"__model__": _qualname(obj), "v": obj.model_dump(mode="json")}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return {"__dataclass__": _qualname(obj), "v": fields}
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"__bytes__": hashlib.blake2b(bytes(obj), digest_size=16).hexdigest()}
    if isinstance(obj, set | frozenset):
        return {"__set__": sorted(canonical_json(item) for item in obj)}
    if isinstance(obj, enum.Enum):
        return {"__enum__": _qualname(obj), "v": obj.value}
    if isinstance(obj, datetime.date | datetime.time | uuid.UUID | Decimal | PurePath):
        return {"__" + type(obj).__name__ + "__": str(obj)}
    try:
        digest = hashlib.blake2b(pickle.dumps(obj, protocol=4), digest_size=16).hexdigest()
    except Exception:
        digest = "unpicklable"
    return {"__object__": _qualname(obj), "h": digest}


def canonical_json(value: Any) -> str:
    """Deterministic JSON text of ``value``: sorted keys, no spaces, tagged non-JSON types."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_canonical_default,
    )


def digest(text: str) -> str:
    """Short hex hash used in operation identities."""
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


class ArgumentBinder:
    """Binds a call's arguments to parameter names, so f(1) and f(a=1) share a fingerprint."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._signature = inspect.signature(func)
        params = list(self._signature.parameters.values())
        simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        self._positional_names = (
            tuple(p.name for p in params)
            if simple and not any(p.name in IGNORED_PARAMETERS for p in params)
            else None
        )

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        names = self._positional_names
        if names is not None and not kwargs and len(args) == len(names):
            return dict(zip(names, args, strict=True))
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return {k: v for k, v in bound.arguments.items() if k not in IGNORED_PARAMETERS}


def fingerprint_call(
    binder: ArgumentBinder, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, str]:
    """``(fingerprint, canonical input text)`` of one call."""
    text = canonical_json(binder.bind(args, kwargs))
    return digest(text), text
