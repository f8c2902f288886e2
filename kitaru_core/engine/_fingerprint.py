"""Operation identity: a stable hash of canonically serialized arguments."""

from __future__ import annotations

import copyreg
import dataclasses
import datetime
import enum
import hashlib
import inspect
import json
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from kitaru_core.engine import _fingerprint_pickle as _pickle
from kitaru_core.errors import FingerprintError
from kitaru_core.store._serialization import canonical_module, pydantic_loaded

IGNORED_PARAMETERS = frozenset({"self", "cls"})


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{canonical_module(cls.__module__)}.{cls.__qualname__}"


def _canonical_default(obj: Any) -> Any:
    """Map a value JSON does not know to a deterministic JSON form."""
    if pydantic_loaded():
        from pydantic import BaseModel

        if isinstance(obj, BaseModel):
            plain = obj.model_dump()
            if _holds_set(plain):  # JSON mode lists a set in hash order, which differs by process
                return {"__model__": _qualname(obj), "p": plain}
            try:
                return {"__model__": _qualname(obj), "v": obj.model_dump(mode="json")}
            except ValueError:  # a field Pydantic cannot dump as JSON: our own encoding
                return {"__model__": _qualname(obj), "p": plain}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return {"__dataclass__": _qualname(obj), "v": fields}
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"__bytes__": hashlib.blake2b(bytes(obj), digest_size=16).hexdigest()}
    if isinstance(obj, set | frozenset):
        return {"__set__": _sorted_members(obj)}
    if isinstance(obj, enum.Enum):
        return {"__enum__": _qualname(obj), "v": obj.value}
    if isinstance(obj, datetime.date | datetime.time | uuid.UUID | Decimal | PurePath):
        return {"__" + type(obj).__name__ + "__": str(obj)}
    try:
        pickled = _pickle.pickled(obj, _set_id)
    except FingerprintError:
        raise
    except Exception:
        return {"__object__": _qualname(obj), "h": "unpicklable"}
    state = _object_state(obj)
    if state is not None:
        return {"__object__": _qualname(obj), "s": state}
    return {"__object__": _qualname(obj), "h": hashlib.blake2b(pickled, digest_size=16).hexdigest()}


def _holds_set(value: Any) -> bool:
    if isinstance(value, set | frozenset):
        return True
    if isinstance(value, dict):
        return any(_holds_set(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_set(item) for item in value)
    return False


_walking = threading.local()


def _sorted_members(items: set[Any] | frozenset[Any]) -> list[str]:
    """The canonical JSON of each member of ``items``, sorted: the same in every process."""
    active: set[int] = _walking.__dict__.setdefault("sets", set())
    if id(items) in active:
        raise FingerprintError(
            "it holds a set whose members refer back to the set itself, so its members have "
            "no order that is the same in every process"
        )
    active.add(id(items))
    try:
        return sorted(canonical_json(item) for item in items)
    finally:
        active.discard(id(items))


def _set_id(items: set[Any] | frozenset[Any]) -> tuple[str, ...]:
    """What stands for a set in pickled bytes: its type, sorted members and attributes."""
    extra = getattr(items, "__dict__", None)
    return ("__set__", _qualname(items), *_sorted_members(items), canonical_json(extra or {}))


def _object_state(obj: Any) -> str | None:
    """Canonical JSON of the state pickle stores for a plain object, or None when it does not
    apply (a custom reduce, constructor arguments, a reference cycle).

    Pickled bytes list a set's items in hash order, which differs between processes, so an
    object holding a set would get a new identity on every resume.
    """
    cls = type(obj)
    if (
        cls.__reduce_ex__ is not object.__reduce_ex__
        or cls.__reduce__ is not object.__reduce__
        or cls in copyreg.dispatch_table
        or hasattr(obj, "__getnewargs_ex__")
        or hasattr(obj, "__getnewargs__")
    ):
        return None
    active: set[int] = _walking.__dict__.setdefault("ids", set())
    if id(obj) in active:
        return None
    active.add(id(obj))
    try:
        return canonical_json(obj.__getstate__())
    except FingerprintError:
        raise
    except (ValueError, RecursionError):
        return None
    finally:
        active.discard(id(obj))


def _keyed(value: Any) -> Any:
    """``value`` with every dict that has a non-str key as sorted ``[key JSON, value]`` pairs."""
    if isinstance(value, dict):
        if all(type(key) is str for key in value):
            return {key: _keyed(item) for key, item in value.items()}
        pairs = sorted(([canonical_json(k), _keyed(v)] for k, v in value.items()), key=_first)
        return {"__dict__": pairs}
    if isinstance(value, list | tuple):
        return [_keyed(item) for item in value]
    return value


def _first(pair: list[Any]) -> Any:
    return pair[0]


def _dumps(value: Any, default: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
    )


def canonical_json(value: Any) -> str:
    """Deterministic JSON text of ``value``: sorted keys, no spaces, tagged non-JSON types."""
    try:
        text = _dumps(value, _canonical_default)
    except FingerprintError:
        raise
    except TypeError:  # a dict key JSON refuses (a tuple) or cannot sort (int next to str)
        text = _dumps(_keyed(value), lambda obj: _keyed(_canonical_default(obj)))
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # lone surrogates (undecodable file names): escape them
            text = text.encode("utf-8", "backslashreplace").decode()
    return text


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
    binder: ArgumentBinder, args: tuple[Any, ...], kwargs: dict[str, Any], name: str = "call"
) -> tuple[str, str]:
    """``(fingerprint, canonical input text)`` of one call of the operation ``name``.

    Raises FingerprintError, before anything runs, for an argument that cannot be given the
    same identity in every process (a resume would run the operation again).
    """
    bound = binder.bind(args, kwargs)
    try:
        text = canonical_json(bound)
    except FingerprintError as exc:
        raise _naming_argument(exc, bound, name) from None
    return digest(text), text


def _naming_argument(exc: FingerprintError, bound: dict[str, Any], name: str) -> FingerprintError:
    culprit = "an argument"
    for key, value in bound.items():
        try:
            canonical_json(value)
        except FingerprintError:
            culprit = f"argument {key!r} ({type(value).__qualname__})"
            break
    return FingerprintError(
        f"Cannot fingerprint {culprit} of {name!r}: {exc}. Its identity would differ between "
        "processes and a resume would run it again. Pass its members in a fixed order (a sorted "
        "list), or give the class a __reduce__ or __getstate__ that leaves the cycle out."
    )
