"""Identity of a growing message history in O(new messages): a hash chain, memoized per run.

Harness-agnostic (no harness imports), so it can move into the adapter toolkit as it is.

The chain of messages ``m1..mk`` is ``c0 = b""``, ``ci = H(c(i-1) + text(mi))``, where
``text`` is a message's canonical JSON (bytes) without volatile fields. It depends only on the
history's content: equal histories have equal chains, whatever ran before or in between.
Each :class:`HistoryChain` remembers the chain of the last history it saw in each conversation
(keyed by the first message object), so a request that extends it hashes only its new
messages. The newest message of a history is never taken from the memo: a harness may still
fill it in (instructions, metadata) between two attempts of the same request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from operator import is_
from typing import Any

CONVERSATIONS = 8
"""Conversations (concurrent runs sharing one chain object) remembered at once."""


def link(previous: bytes, text: bytes) -> bytes:
    """The next chain value: ``previous`` (empty or 16 bytes) followed by one message's text."""
    return hashlib.blake2b(previous + text, digest_size=16).digest()


class HistoryChain:
    """Chain hashes of message histories; ``canonical`` maps a message to its canonical text."""

    def __init__(self, canonical: Callable[[Any], bytes]) -> None:
        self._canonical = canonical
        # id(first message) -> (messages but the newest, their chain values); the lists hold the
        # messages, so an id here always names the object it was taken from.
        self._memo: dict[int, tuple[list[Any], list[bytes]]] = {}

    def chain(self, messages: Sequence[Any]) -> tuple[str, bytes]:
        """Hex chain of ``messages``, and the canonical text of the newest one (empty if none)."""
        if not messages:
            return link(b"", b"").hex(), b""
        key = id(messages[0])
        kept, links = self._memo.get(key, ((), ()))
        known = min(len(kept), len(messages) - 1)
        if known and not (kept[known - 1] is messages[known - 1] and _same(kept, messages, known)):
            known = _common_prefix(kept, messages, known)
        values = list(links[:known])
        value = values[-1] if values else b""
        text = b""
        for message in messages[known:]:
            text = self._canonical(message)
            value = link(value, text)
            values.append(value)
        self._memo.pop(key, None)
        if len(self._memo) >= CONVERSATIONS:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = (list(messages[:-1]), values[:-1])
        return value.hex(), text


def _same(kept: Sequence[Any], messages: Sequence[Any], count: int) -> bool:
    return all(map(is_, kept[:count], messages[:count]))


def _common_prefix(kept: Sequence[Any], messages: Sequence[Any], limit: int) -> int:
    for index in range(limit):
        if kept[index] is not messages[index]:
            return index
    return limit
