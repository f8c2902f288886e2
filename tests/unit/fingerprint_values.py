"""Checkpoint arguments whose fingerprints were already the same in every process.

Their digests are pinned in test_fingerprint_identity.py (PINNED) as persisted compatibility
data: stored executions find their operations again by these fingerprints, so they must never
change. Keep this module's name and its classes' names as they are (pickled values record them).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import pathlib
import types
import uuid
from typing import Any

import pydantic


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    tags: frozenset[str] = frozenset()


class Model(pydantic.BaseModel):
    name: str
    when: datetime.date
    scores: list[float] = []


class SetModel(pydantic.BaseModel):
    tags: set[str]


class Plain:
    """A plain object: fingerprinted from its canonical state."""

    def __init__(self, tags: set[str], limit: int) -> None:
        self.tags = tags
        self.limit = limit


class Reduced:
    """An object with its own ``__reduce__``: fingerprinted from its pickled bytes."""

    def __init__(self, items: list[Any], label: str) -> None:
        self.items = items
        self.label = label

    def __reduce__(self) -> tuple[Any, ...]:
        return (Reduced, (self.items, self.label))


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a: Any, b: Any) -> None:
        self.a = a
        self.b = b


VALUES: dict[str, dict[str, Any]] = {
    "json": {"text": "hello", "n": 3, "f": 1.5, "flag": True, "none": None, "items": [1, "a"]},
    "nested": {"d": {"b": 1, "a": [{"z": 0, "y": [1.0, 2.0]}]}, "empty": {}},
    "unicode": {"s": "naïve ☃ 東京"},
    "surrogate": {"s": b"file-\xff.txt".decode("utf-8", "surrogateescape")},
    "int_keys": {"table": {1: "one", 2: "two"}},
    "tuple_keys": {"table": {(0, 0): "origin", (1, 2): "point"}},
    "mixed_keys": {"table": {1: "int", "b": "str"}},
    "tuple": {"t": (1, "two", 3.0)},
    "str_set": {"s": {"alpha", "beta", "gamma", "delta"}},
    "frozenset": {"s": frozenset({"x", "y", "z"})},
    "int_set": {"s": {3, 1, 2}},
    "bytes": {"b": b"\x00\x01payload", "ba": bytearray(b"xyz")},
    "enum": {"c": Colour.BLUE},
    "dataclass": {"p": Point(1, 2, frozenset({"u", "v", "w"}))},
    "model": {"m": Model(name="n", when=datetime.date(2024, 1, 2), scores=[0.5])},
    "set_model": {"m": SetModel(tags={"k", "l", "m", "n"})},
    "dates": {
        "d": datetime.date(2024, 1, 2),
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "t": datetime.time(12, 30),
    },
    "misc": {
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "dec": decimal.Decimal("1.10"),
        "path": pathlib.PurePosixPath("/tmp/x.txt"),
    },
    "plain_object": {"o": Plain({"red", "green", "blue"}, 3)},
    "namespace": {"ns": types.SimpleNamespace(a=1, b="two", c=[3, 4])},
    "namespace_int_set": {"ns": types.SimpleNamespace(ids={5, 1, 9, 3})},
    "namespace_one_str": {"ns": types.SimpleNamespace(tags={"only"})},
    "reduced": {"r": Reduced([1, "a", (2, 3)], "label")},
    "slotted": {"s": Slotted(1, "b")},
    "complex": {"c": 1 + 2j},
    "fraction": {"f": fractions.Fraction(1, 3)},
    "range": {"r": range(0, 10, 2)},
}
"""Representative values by case name, each as the bound arguments of one call."""
