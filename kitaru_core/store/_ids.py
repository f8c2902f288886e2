"""Sortable unique ids: 48 bits of milliseconds then 80 random bits, Crockford base32."""

from __future__ import annotations

import hashlib
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def scheduled_exec_id(schedule: str, created_at: float, due: int) -> str:
    """The id of the run of ``schedule`` (made at ``created_at``) due at Unix time ``due``: the
    same in every process, so a due time fired twice is recorded once. It sorts by ``due``."""
    key = f"{schedule}@{created_at!r}@{due}".encode()
    entropy = int.from_bytes(hashlib.sha256(key).digest()[:10], "big")
    return f"kr-{_base32(due * 1000, 10)}{_base32(entropy, 16)}"


def sortable_id(prefix: str) -> str:
    """A new id such as ``kr-01jd...`` that sorts by creation time."""
    millis = time.time_ns() // 1_000_000
    entropy = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}-{_base32(millis, 10)}{_base32(entropy, 16)}"


def new_exec_id() -> str:
    """Id of a new execution."""
    return sortable_id("kr")


def new_artifact_id() -> str:
    """Id of a new artifact version."""
    return sortable_id("ka")
