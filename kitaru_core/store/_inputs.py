"""Operation inputs too large for a row: their largest argument values become blobs.

An operation's inputs are the canonical JSON text of its bound arguments (``_fingerprint.py``).
When that text is longer than the inline limit it is stored as *parts*: literal pieces of the
text, and ``{"blob": sha256, "size": characters}`` for each value moved to the content-addressed
blob store. A value passed to several operations is then stored once, whatever the other
arguments are. Joining the parts gives back the exact text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# A JSON string (the unrolled form, fast on long strings) or a structural character.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


def _value_spans(text: str) -> list[tuple[int, int]] | None:
    """Where each top-level value of a JSON object text starts and ends, or None if ``text``
    is not one object."""
    if not text.startswith("{"):
        return None
    spans: list[tuple[int, int]] = []
    depth = 0
    start: int | None = None
    for match in _TOKEN.finditer(text):
        char = match.group()[0]
        if char == '"':
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                if start is not None:
                    spans.append((start, match.start()))
                return spans if match.end() == len(text) else None
        elif depth == 1 and char == ":":
            start = match.end()
        elif depth == 1 and char == "," and start is not None:
            spans.append((start, match.start()))
            start = None
    return None


def split_input(text: str, limit: int, put: Callable[[bytes], str]) -> list[Any]:
    """``text`` as parts whose literal pieces total at most ``limit`` characters; ``put``
    stores a blob and returns its digest."""
    spans = _value_spans(text) or [(0, len(text))]
    literal = len(text)
    moved: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda span: span[0] - span[1]):  # largest first
        if literal <= limit:
            break
        moved.append((start, end))
        literal -= end - start
    if literal > limit:  # many small values: the whole text is one blob
        moved = [(0, len(text))]
    parts: list[Any] = []
    position = 0
    for start, end in sorted(moved):
        if start > position:
            parts.append(text[position:start])
        parts.append({"blob": put(text[start:end].encode()), "size": end - start})
        position = end
    if position < len(text):
        parts.append(text[position:])
    return parts


def join_input(parts: list[Any], get: Callable[[str], bytes]) -> str:
    """The text :func:`split_input` split; ``get`` reads a blob (hash-checked)."""
    return "".join(part if isinstance(part, str) else get(part["blob"]).decode() for part in parts)


def outline_input(parts: list[Any], placeholder: Callable[[dict[str, Any]], str]) -> str:
    """The text with each blob replaced by ``placeholder(part)``, reading no blob."""
    return "".join(part if isinstance(part, str) else placeholder(part) for part in parts)
