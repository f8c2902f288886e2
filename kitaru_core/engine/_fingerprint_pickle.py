"""Pickled bytes for identity: the same in every process, for objects with no JSON form.

``pickle.dumps`` lists a set's members in hash order, which changes with ``PYTHONHASHSEED``,
and names a flow script's classes by the module the script was loaded as (``__main__`` when run,
``__kitaru_main__`` when a resume imported it). :func:`pickled` writes such a set as its
members' sorted canonical encodings and a script's globals as ``__main__``; every other value
gets exactly the bytes ``pickle.dumps(value, protocol=4)`` gives, so stored fingerprints stay.
"""

from __future__ import annotations

import io
import pickle
import types
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kitaru_core.store._serialization import SCRIPT_MODULE

PROTOCOL = 4

SetEncoder = Callable[[Any], Any]
"""Gives the persistent id that stands for a set whose order depends on the hash seed."""

_SEED_FREE = frozenset({int, float, complex, bool, type(None), Decimal, Fraction})
"""Types whose hash, and so their place in a set, does not depend on the hash seed."""


def _seed_free(item: Any) -> bool:
    kind = type(item)
    if kind in _SEED_FREE:
        return True
    return (kind is tuple or kind is frozenset) and all(_seed_free(part) for part in item)


def order_depends_on_seed(items: set[Any] | frozenset[Any]) -> bool:
    """Whether two processes may iterate ``items`` in different orders."""
    return len(items) > 1 and not all(_seed_free(item) for item in items)


def _script_global(obj: Any) -> bool:
    return isinstance(obj, type | types.FunctionType) and obj.__module__ == SCRIPT_MODULE


class _ScriptGlobal(Exception):
    """The value names a class or function of a flow script imported to resume it."""


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, encode_set: SetEncoder) -> None:
        super().__init__(file, protocol=PROTOCOL)
        self._encode_set = encode_set

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, set | frozenset) and order_depends_on_seed(obj):
            return self._encode_set(obj)
        if _script_global(obj):
            raise _ScriptGlobal
        return None


_PythonPickler: Any = pickle._Pickler


class _ScriptPickler(_PythonPickler):
    """The pure-Python pickler (same bytes as the C one) naming a script's globals as
    ``__main__``, as they are named when the script runs."""

    def __init__(self, file: io.BytesIO, encode_set: SetEncoder) -> None:
        super().__init__(file, protocol=PROTOCOL)
        self._encode_set = encode_set

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, set | frozenset) and order_depends_on_seed(obj):
            return self._encode_set(obj)
        return None

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if not _script_global(obj):
            super().save_global(obj, name)
            return
        self.save("__main__")
        self.save(name or obj.__qualname__)
        self.write(pickle.STACK_GLOBAL)
        self.memoize(obj)


def pickled(obj: Any, encode_set: SetEncoder) -> bytes:
    """``obj`` pickled for identity (see the module docstring)."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, encode_set).dump(obj)
    except _ScriptGlobal:
        buffer = io.BytesIO()
        _ScriptPickler(buffer, encode_set).dump(obj)
    return buffer.getvalue()
