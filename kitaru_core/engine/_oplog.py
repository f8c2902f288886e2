"""The operation log of one execution: what is recorded, and the next identity of each call."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass

from kitaru_core.store._records import OperationRecord


@dataclass(frozen=True, slots=True)
class OperationId:
    """Identity of an operation in its execution: the n-th call of ``name`` with inputs hashing
    to ``fingerprint``.

    Its :attr:`text`, ``name:fingerprint:n``, is persisted data (the ``op_id`` of operation,
    wait, in-flight and artifact rows, replay plans, idempotency keys): never change its format,
    or stored executions stop reusing their operations on resume.
    """

    name: str
    fingerprint: str
    n: int

    @property
    def text(self) -> str:
        """The stored form, ``name:fingerprint:n``."""
        return f"{self.name}:{self.fingerprint}:{self.n}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> OperationId:
        """The identity whose :attr:`text` is ``text``; ValueError when it is not one.

        A name may hold ``:`` (adapters' names do), a fingerprint never does, so the last two
        colons are the separators.
        """
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not (parts[2].isascii() and parts[2].isdigit()):
            raise ValueError(f"{text!r} is not an operation id (name:fingerprint:n)")
        return cls(parts[0], parts[1], int(parts[2]))


class OperationLog:
    """Recorded operations keyed by identity, loaded once when a run starts."""

    def __init__(
        self,
        records: list[OperationRecord],
        inherited: dict[str, OperationRecord] | None = None,
    ) -> None:
        self._completed: dict[str, OperationRecord] = {}
        self._attempts: dict[str, int] = defaultdict(int)
        for record in records:
            self._attempts[record.op_id] = max(self._attempts[record.op_id], record.attempt)
            if record.status == "completed":
                self._completed[record.op_id] = record
        self._inherited = inherited or {}
        self._counters: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()

    def next_id(self, name: str, fingerprint: str) -> OperationId:
        """Claim the next ``n`` for (name, fingerprint) and return that operation's identity."""
        key = (name, fingerprint)
        with self._lock:
            n = self._counters[key]
            self._counters[key] = n + 1
        return OperationId(name, fingerprint, n)

    def next_identity(self, name: str, fingerprint: str) -> str:
        """:meth:`next_id` as text, for callers that only key by it (artifact saves)."""
        return self.next_id(name, fingerprint).text

    def restart(self) -> None:
        """Forget call counts before the flow body runs again from the top."""
        with self._lock:
            self._counters.clear()

    def recorded(self, op_id: str) -> OperationRecord | None:
        """The completed record of ``op_id`` in this execution, or one inherited by a replay."""
        return self._completed.get(op_id) or self._inherited.get(op_id)

    def next_attempt(self, op_id: str) -> int:
        """Attempt number for a new try of ``op_id``."""
        with self._lock:
            self._attempts[op_id] += 1
            return self._attempts[op_id]

    def peek_attempt(self, op_id: str) -> int:
        """The attempt number :meth:`next_attempt` would give ``op_id`` now, without taking it."""
        with self._lock:
            return self._attempts.get(op_id, 0) + 1

    def add(self, record: OperationRecord) -> None:
        """Remember a record written during this run."""
        if record.status == "completed":
            self._completed[record.op_id] = record

    @property
    def completed_count(self) -> int:
        """How many operations have a completed record."""
        return len(self._completed)
