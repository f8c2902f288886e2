"""Bounded previews of stored values, so showing an execution never prints megabytes.

A preview is the value's JSON form when that is short, else the first ``PREVIEW_CHARS``
characters of its text (a string as it is, anything else as JSON or ``repr``) and a flag.
"""

from __future__ import annotations

import dataclasses
import json
import reprlib
from typing import Any, NamedTuple

PREVIEW_CHARS = 1000
ELLIPSIS = "…"


def to_jsonable(value: Any) -> tuple[bool, Any]:
    """``(True, json_value)`` when ``value`` has a JSON form, else ``(False, repr(value))``."""
    candidate = value
    if hasattr(value, "model_dump") and callable(value.model_dump):
        try:
            candidate = value.model_dump(mode="json")
        except Exception:
            return False, repr(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        candidate = dataclasses.asdict(value)
    try:
        json.dumps(candidate, allow_nan=False)
    except (TypeError, ValueError):
        return False, repr(value)
    return True, candidate


def cut(text: str, limit: int = PREVIEW_CHARS) -> tuple[str, bool]:
    """``(text, False)``, or its first ``limit`` characters and an ellipsis and True."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + ELLIPSIS, True


def _short_repr(value: Any, limit: int) -> str:
    """A repr that stops early: a huge value is never rendered whole."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = short.maxfrozenset = 100
    short.maxlevel = 4
    return short.repr(value)


class Preview(NamedTuple):
    """A JSON-ready stand-in for a value: the value itself unless ``truncated``."""

    value: Any
    truncated: bool
    is_repr: bool = False


def preview(value: Any, *, size: int | None = None, limit: int = PREVIEW_CHARS) -> Preview:
    """The preview of a decoded value; a ``size`` (stored bytes) far above ``limit`` skips
    rendering the value whole."""
    if isinstance(value, str):
        return Preview(*cut(value, limit))
    if size is not None and size > 4 * limit:
        return Preview(*cut(_short_repr(value, limit), limit), is_repr=True)
    ok, data = to_jsonable(value)
    text = json.dumps(data, ensure_ascii=False) if ok else str(data)
    if len(text) <= limit:
        return Preview(data, False, not ok)
    return Preview(*cut(text, limit), is_repr=not ok)


def full(value: Any) -> Preview:
    """The whole value in its JSON form (or ``repr``), as a :class:`Preview` that is not cut."""
    ok, data = to_jsonable(value)
    return Preview(data, False, not ok)
