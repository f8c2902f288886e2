"""The adapter toolkit: what a harness adapter needs from Kitaru's core, and all it may import.

An adapter translates its harness's objects into these calls (with ``kitaru_core.hookspecs``
for its plugin and ``kitaru_core.errors`` for errors); it never imports a private module.
Importable as ``kitaru.toolkit``. See docs/plugins/adapters.md.

- Running: :func:`run_operation` / :func:`arun_operation` run or reuse one operation under the
  engine's identity rules (name, kind, identifying inputs; the n-th equal call is told apart).
- Where code runs: :func:`in_flow`, :func:`in_operation`, :func:`in_durable_unit`,
  :func:`current_operation`, :func:`current_execution_id`, :func:`ordinal`,
  :func:`interrupted_attempts` (what a crashed earlier run left in flight).
- Identity: :func:`identity_of`, :func:`canonical_json`, :func:`digest`, :func:`strip_volatile`,
  :func:`message_json`, :class:`HistoryChain`, :class:`OperationId`.
- Model usage: :func:`report_usage`, :func:`report_model_usage`, :func:`price`,
  :func:`record_model_call`.
- Humans: :func:`ask_human` / :func:`aask_human` (``kitaru.wait()`` with a typed answer).
- Harness calls outside a flow: :class:`AutomaticFlow`, :func:`register_object`,
  :func:`find_object`, :func:`caller_origin`.
- Storing harness values: :class:`JsonSerializer`, :func:`pack_value`, :func:`unpack_value`.
- Storage an adapter owns: :class:`AdapterLog` (append-only JSON logs in the stack's store).
- An adapter's own records in the store (a harness's checkpoints): :class:`AdapterRecords`.

Operation names are persisted data: renaming one breaks the resume of stored executions. Pin
them with the contract test kit, ``kitaru_core.testing``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from kitaru_core.engine import _context, _runtime
from kitaru_core.engine._automatic import (
    AutomaticFlow,
    Opened,
    Origin,
    caller_origin,
    find_object,
    register_object,
)
from kitaru_core.engine._fingerprint import canonical_json, digest
from kitaru_core.engine._oplog import OperationId
from kitaru_core.errors import KitaruError
from kitaru_core.llm._llm import (
    MOCK_ENV,
    LLMReply,
    LLMRequest,
    ModelUsage,
    arecord_model_call,
    note_usage,
    record_model_call,
    resolve_model,
    scrub,
)
from kitaru_core.llm._pricing import price
from kitaru_core.store._records import AdapterRecord
from kitaru_core.store._serialization import get_registry
from kitaru_core.waits import _waits

T = TypeVar("T")

__all__ = [
    "MOCK_ENV",
    "VOLATILE_KEYS",
    "AdapterLog",
    "AutomaticFlow",
    "ExecutionInfo",
    "HistoryChain",
    "Identity",
    "InterruptedAttempt",
    "JsonSerializer",
    "LLMReply",
    "LLMRequest",
    "ModelUsage",
    "Opened",
    "OperationId",
    "OperationInfo",
    "Origin",
    "RecordedOperation",
    "aask_human",
    "arecord_model_call",
    "arun_operation",
    "ask_human",
    "caller_origin",
    "canonical_json",
    "current_execution",
    "current_execution_id",
    "current_operation",
    "digest",
    "execution_metadata",
    "find_object",
    "identity_of",
    "in_durable_unit",
    "in_flow",
    "in_operation",
    "interrupted_attempts",
    "message_json",
    "ordinal",
    "pack_value",
    "price",
    "record_model_call",
    "recorded_operations",
    "register_object",
    "report_model_usage",
    "report_usage",
    "resolve_model",
    "run_operation",
    "scrub",
    "set_execution_metadata",
    "stored_execution_metadata",
    "strip_volatile",
    "type_name",
    "unpack_value",
]


# --- where code runs ---------------------------------------------------------------------------


def in_flow() -> bool:
    """Whether an execution runs in this context (inside a ``@flow`` or an automatic one)."""
    return _context.current_run() is not None


def in_operation() -> bool:
    """Whether an operation's body (a checkpoint, a model or tool call) runs in this context."""
    return _context.current_operation() is not None


def in_durable_unit() -> bool:
    """In a flow and not inside an operation: where a harness call becomes an operation of its
    own. Inside an operation the enclosing one records everything (its body is one unit)."""
    return _context.durable_run() is not None


@dataclass(frozen=True)
class OperationInfo:
    """The operation whose body runs now: its name, kind and id."""

    name: str
    kind: str
    op_id: str
    exec_id: str


def current_operation() -> OperationInfo | None:
    """The operation running in this context, or None."""
    scope = _context.current_operation()
    if scope is None:
        return None
    return OperationInfo(scope.spec.name, scope.spec.kind, scope.op_id, scope.run.exec_id)


def current_execution_id() -> str | None:
    """The id of the execution running in this context, or None."""
    run = _context.current_run()
    return None if run is None else run.exec_id


@dataclass(frozen=True)
class ExecutionInfo:
    """The execution running now: its id, its flow, the replay source, its metadata, and which
    run of it this process makes (1 for a new execution, 2 for its first resume, ...)."""

    exec_id: str
    flow_name: str
    replay_of: str | None
    metadata: Mapping[str, Any]
    run_no: int = 1


def current_execution() -> ExecutionInfo | None:
    """The execution running in this context, or None."""
    run = _context.current_run()
    if run is None:
        return None
    record = run.record
    return ExecutionInfo(
        run.exec_id, record.flow_name, record.original_exec_id, run.metadata, run.run_no
    )


def execution_metadata(key: str, default: Any = None) -> Any:
    """``key`` of the running execution's metadata (``default`` if unset or outside a flow)."""
    run = _context.current_run()
    return default if run is None else run.metadata.get(key, default)


def _running(what: str) -> _runtime.ExecutionRun:
    run = _context.current_run()
    if run is None:
        raise KitaruError(f"{what} needs a running flow: call it inside a @flow.")
    return run


def set_execution_metadata(key: str, value: Any) -> None:
    """Store ``key: value`` (JSON) in the running execution's metadata, at once."""
    run = _running("set_execution_metadata()")
    run.metadata[key] = value
    run.store.update_execution(run.exec_id, metadata=run.metadata)


@dataclass(frozen=True)
class RecordedOperation:
    """An operation stored for an execution: its name, kind and status."""

    name: str
    kind: str
    status: str


def recorded_operations(exec_id: str | None = None) -> list[RecordedOperation]:
    """The operations stored for ``exec_id`` (default: the running execution), oldest first."""
    run = _running("recorded_operations()")
    records = run.store.load_operations(exec_id or run.exec_id)
    return [RecordedOperation(r.name, r.kind, r.status) for r in records]


@dataclass(frozen=True)
class InterruptedAttempt:
    """An attempt an earlier run of the running execution left in flight (its process died)."""

    op_id: str
    name: str
    kind: str
    attempt: int
    started_at: float
    run_no: int


def interrupted_attempts() -> list[InterruptedAttempt]:
    """Attempts that earlier runs of the running execution started and never finished.

    Known when the background flusher saw them running (longer than ``log_flush_seconds``)
    before their process stopped; an observer of a resumed run reports them with this.
    """
    run = _running("interrupted_attempts()")
    finished: dict[str, int] = {}
    for record in run.store.load_operations(run.exec_id):
        finished[record.op_id] = max(finished.get(record.op_id, 0), record.attempt)
    return [
        InterruptedAttempt(s.op_id, s.name, s.kind, s.attempt, s.started_at, s.run_no)
        for s in sorted(run.store.load_started(run.exec_id), key=lambda s: s.started_at)
        if s.run_no < run.run_no and finished.get(s.op_id, 0) < s.attempt
    ]


def stored_execution_metadata(exec_id: str) -> dict[str, Any]:
    """The metadata of a stored execution in the running execution's store (a replay source)."""
    run = _running("stored_execution_metadata()")
    return dict(run.store.get_execution(exec_id).metadata)


def ordinal(key: str) -> int:
    """0, 1, 2, ... for successive calls with ``key`` in this run of the flow body.

    For harness objects with no stable name (the n-th run of an agent): the count restarts
    when the body runs again on resume, so the n-th object gets the same number again.
    """
    run = _running("ordinal()")
    return run.log.next_id(key, "").n


# --- operation identity ------------------------------------------------------------------------


class Identity(NamedTuple):
    """The fingerprint of an operation's inputs and the input text stored with it."""

    fingerprint: str
    input_text: str | None


def identity_of(inputs: Any) -> Identity:
    """Identity of JSON-like ``inputs`` under the engine's rules: its canonical JSON, hashed."""
    text = canonical_json(inputs)
    return Identity(digest(text), text)


# --- running operations ------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _spec(name: str, kind: str, retries: int, retry_delay: float) -> _runtime.OperationSpec:
    """The (immutable) spec of an operation, made once per name and policy: making one checks
    the name, which an adapter would otherwise pay at every call."""
    return _runtime.OperationSpec(name=name, kind=kind, retries=retries, retry_delay=retry_delay)


def run_operation(
    name: str,
    call: Callable[[], T],
    *,
    kind: str,
    inputs: Any = None,
    identity: Identity | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
) -> T:
    """Run ``call`` once per execution as operation ``name``, or return its recorded output.

    The operation is identified by ``inputs`` (hashed as canonical JSON) or by a precomputed
    ``identity``; the n-th equal call gets its own record. Outside a flow, or inside another
    operation (which records the whole thing), ``call`` just runs. ``retries`` re-runs a
    failing call after ``retry_delay`` seconds (doubling).
    """
    run = _context.durable_run()
    if run is None:
        return call()
    fingerprint, text = identity if identity is not None else identity_of(inputs)
    spec = _spec(name, kind, retries, retry_delay)
    return _runtime.run_operation(run, spec, fingerprint, text, call)


async def arun_operation(
    name: str,
    call: Callable[[], Awaitable[T]],
    *,
    kind: str,
    inputs: Any = None,
    identity: Identity | None = None,
    retries: int = 0,
    retry_delay: float = 1.0,
) -> T:
    """:func:`run_operation` for a coroutine function ``call``."""
    run = _context.durable_run()
    if run is None:
        return await call()
    fingerprint, text = identity if identity is not None else identity_of(inputs)
    spec = _spec(name, kind, retries, retry_delay)
    return await _runtime.arun_operation(run, spec, fingerprint, text, call)


# --- model usage -------------------------------------------------------------------------------


def report_model_usage(
    usage: ModelUsage, *, standalone: bool, prompt: Any = None, response: Any = None
) -> None:
    """Add one model call's usage to the running operation (nothing outside one).

    ``standalone``: the operation *is* this model call (its metadata gets model and latency);
    otherwise the call is listed in the operation's ``llm_calls``. The execution's spent total
    counts it; a resume that reuses the operation counts it as saved.
    """
    note_usage(usage, standalone=standalone, prompt=prompt, response=response)


def report_usage(
    model: str | None,
    tokens_in: int,
    tokens_out: int,
    cost: float | None = None,
    *,
    provider: str | None = None,
    latency: float = 0.0,
    details: Mapping[str, Any] | None = None,
    standalone: bool = True,
    prompt: Any = None,
    response: Any = None,
) -> ModelUsage:
    """Report a model call's tokens (and cost) to the running operation; returns the usage.

    Without ``cost``, the price comes from :func:`price` (genai-prices, or LiteLLM's map,
    each imported on first need); an unknown price records 0 with ``cost_known: false``.
    """
    extra = dict(details or {})
    if provider:
        extra.setdefault("provider", provider)
    if cost is None:
        cost = price(model, tokens_in, tokens_out, provider=provider)
        if cost is None:
            extra["cost_known"] = False
    usage = ModelUsage(
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost=cost or 0.0,
        latency=latency,
        details=extra,
    )
    note_usage(usage, standalone=standalone, prompt=prompt, response=response)
    return usage


# --- humans ------------------------------------------------------------------------------------


def ask_human(
    question: str,
    schema: type[T] | Any = str,
    *,
    name: str,
    timeout: float | None = 600,
    metadata: dict[str, Any] | None = None,
) -> T:
    """Ask through ``kitaru.wait()``: the answer validated as ``schema``.

    Unanswered after ``timeout`` seconds, the execution suspends (``ExecutionSuspended``);
    once answered and resumed, this returns the answer. Only inside a flow.
    """
    answer: T = _waits.wait(
        schema=schema, name=name, question=question, timeout=timeout, metadata=metadata
    )
    return answer


async def aask_human(
    question: str,
    schema: type[T] | Any = str,
    *,
    name: str,
    timeout: float | None = 600,
    metadata: dict[str, Any] | None = None,
) -> T:
    """:func:`ask_human` for async code (polls with ``asyncio.sleep``)."""
    answer: T = await _waits.wait_async(
        schema=schema, name=name, question=question, timeout=timeout, metadata=metadata
    )
    return answer


# --- canonical JSON of harness messages --------------------------------------------------------

VOLATILE_KEYS: frozenset[str] = frozenset({"timestamp", "run_id", "conversation_id"})
"""Keys that differ between a run and its resume in most harnesses' messages."""


def strip_volatile(value: Any, keys: Collection[str] = VOLATILE_KEYS) -> Any:
    """``value`` (JSON data) without the keys, at any depth, that differ on resume."""
    if isinstance(value, dict):
        return {k: strip_volatile(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [strip_volatile(v, keys) for v in value]
    return value


def type_name(obj: Any) -> str:
    """``<module.Class>``: how a live object (a client, a socket) enters an identity."""
    return f"<{type(obj).__module__}.{type(obj).__qualname__}>"


def message_json(value: Any, *, volatile: Collection[str] = VOLATILE_KEYS) -> str:
    """Canonical JSON of a harness value (a message, a list of them) for identity.

    Pydantic models, dataclasses and JSON data are walked; live objects become their type
    name; ``volatile`` keys are dropped at any depth.
    """
    from pydantic_core import to_jsonable_python  # lazy: toolkit import stays light

    try:
        data = to_jsonable_python(value, fallback=type_name, bytes_mode="base64")
    except (ValueError, TypeError):  # circular or unserializable: identify by type only
        return canonical_json(type_name(value))
    return canonical_json(strip_volatile(data, volatile))


def link(previous: bytes, text: bytes) -> bytes:
    """The next value of a history chain: ``previous`` (empty or 16 bytes), then one message."""
    return hashlib.blake2b(previous + text, digest_size=16).digest()


class HistoryChain:
    """Identity of a growing message history in O(new messages): a hash chain, memoized.

    The chain of ``m1..mk`` is ``c0 = b""``, ``ci = link(c(i-1), text(mi))`` where ``text``
    (``canonical``) is a message's canonical bytes without volatile fields. It depends on the
    history's content only: equal histories have equal chains, whatever ran before. The chain
    of the last history of each conversation (keyed by its first message object) is kept, so
    a request that extends it hashes only its new messages. The newest message is never taken
    from the memo: a harness may still fill it in between two attempts.

    ``rebuilt=True`` is for harnesses that pass fresh copies of their messages at each request
    (equal, not the same objects): the memo is then found by the first message's canonical
    text and earlier messages are compared with ``==`` (still far cheaper than hashing them).
    """

    CONVERSATIONS = 8
    """Conversations (concurrent runs sharing one chain object) remembered at once."""

    def __init__(self, canonical: Callable[[Any], bytes], *, rebuilt: bool = False) -> None:
        self._canonical = canonical
        self._rebuilt = rebuilt
        # first message (its id, or its text when rebuilt) -> (messages but the newest, their
        # chain values); the lists hold the messages, so an id here names the object it was
        # taken from.
        self._memo: dict[Any, tuple[list[Any], list[bytes]]] = {}

    def chain(self, messages: Sequence[Any]) -> tuple[str, bytes]:
        """Hex chain of ``messages``, and the canonical text of the newest (empty if none)."""
        if not messages:
            return link(b"", b"").hex(), b""
        key = self._canonical(messages[0]) if self._rebuilt else id(messages[0])
        kept, links = self._memo.get(key, ([], []))
        known = min(len(kept), len(messages) - 1)
        if self._rebuilt:
            if known and kept[:known] != list(messages[:known]):
                known = _equal_prefix(kept, messages, known)
        elif known and not (
            kept[known - 1] is messages[known - 1] and _same(kept, messages, known)
        ):
            known = _common_prefix(kept, messages, known)
        values = list(links[:known])
        value = values[-1] if values else b""
        text = b""
        for message in messages[known:]:
            text = self._canonical(message)
            value = link(value, text)
            values.append(value)
        self._memo.pop(key, None)
        if len(self._memo) >= self.CONVERSATIONS:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = (list(messages[:-1]), values[:-1])
        return value.hex(), text


def _same(kept: list[Any], messages: Sequence[Any], count: int) -> bool:
    """Whether the first ``count`` messages are the kept ones (or equal to them).

    List equality, which compares item by item in C and takes an item that *is* the kept one
    as equal without calling its ``__eq__``: several times faster than an identity test per
    item in Python, which matters as histories grow. Equal messages hash alike, so an equal
    (not identical) message may reuse its chain value too.
    """
    head = messages[:count]
    return kept[:count] == (head if type(head) is list else list(head))


def _common_prefix(kept: Sequence[Any], messages: Sequence[Any], limit: int) -> int:
    for index in range(limit):
        if kept[index] is not messages[index]:
            return index
    return limit


def _equal_prefix(kept: Sequence[Any], messages: Sequence[Any], limit: int) -> int:
    for index in range(limit):
        if kept[index] != messages[index]:
            return index
    return limit


# --- storing harness values --------------------------------------------------------------------


def pack_value(value: Any, *, what: str) -> list[str]:
    """``[codec, base64 data]``: any storable value as JSON (SerializationError names ``what``)."""
    codec, data = get_registry().dumps(value, what=what)
    return [codec, base64.b64encode(data).decode()]


def unpack_value(packed: Sequence[str], *, what: str) -> Any:
    """Inverse of :func:`pack_value`."""
    codec, data = packed
    return get_registry().loads(codec, base64.b64decode(data), what=what)


class JsonSerializer:
    """Base of a serializer that stores a harness's values as compact JSON.

    Set ``name`` (recorded with each value: never rename it), ``module`` (the harness module;
    while it is not imported nothing can be one of its values, and the harness is never
    imported to find out) and implement :meth:`accepts_loaded`, :meth:`to_json` and
    :meth:`from_json`. Register an instance in the ``register_serializers`` hook.
    """

    name: str = ""
    priority: int = 5
    module: str = ""

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is one of the harness's values (False while it is not imported)."""
        if self.module and self.module not in sys.modules:
            return False
        return self.accepts_loaded(value)

    def accepts_loaded(self, value: Any) -> bool:
        """Whether ``value`` is one of the harness's values; the harness is imported."""
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        """JSON data for ``value``."""
        raise NotImplementedError

    def from_json(self, data: Any) -> Any:
        """The value :meth:`to_json` described."""
        raise NotImplementedError

    def dumps(self, value: Any) -> bytes:
        return json.dumps(self.to_json(value), separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return self.from_json(json.loads(data))


# --- storage an adapter owns -------------------------------------------------------------------


class AdapterLog:
    """Append-only logs of JSON items that an adapter keeps in the current stack's store.

    Logs are named by ``namespace`` (the adapter's, e.g. ``"claude_agent_sdk"``) and a stream
    name the adapter chooses. Whatever process or machine shares the stack reads the same logs.
    Inside a flow they live in the running execution's store, elsewhere in the active stack's.
    Each call is one transaction. Times are epoch milliseconds of the store write, strictly
    increasing within a process.
    """

    _clock = threading.Lock()
    _last = 0.0

    def __init__(self, namespace: str) -> None:
        if not namespace or len(namespace) > 100:
            raise KitaruError(
                f"AdapterLog namespace {namespace!r} must be 1 to 100 characters long."
            )
        self.namespace = namespace

    def _store(self) -> Any:
        run = _context.current_run()
        if run is not None:
            return run.store
        from kitaru_core.store._backends import current_store

        return current_store()

    @classmethod
    def now(cls) -> float:
        """A write time (epoch ms) later than any this process handed out before."""
        with cls._clock:
            stamp = max(float(int(time.time() * 1000)), cls._last + 1)
            cls._last = stamp
        return stamp

    def append(
        self,
        stream: str,
        items: Sequence[Any],
        *,
        ids: Sequence[str | None] | None = None,
        replace: bool = False,
        at: float | None = None,
    ) -> float:
        """Append JSON ``items`` to ``stream``; returns the write time (epoch ms).

        ``ids`` (one per item, or None) make appends idempotent: an item whose id the stream
        already holds is skipped. ``replace`` empties the stream first (a single value kept
        under a name). ``at`` is the write time to record (default :meth:`now`).
        """
        if len(stream) > 500:
            raise KitaruError(f"AdapterLog stream name {stream[:40]!r}... exceeds 500 characters.")
        keys = list(ids) if ids is not None else [None] * len(items)
        if len(keys) != len(items):
            raise KitaruError("AdapterLog.append(ids=...) needs one id (or None) per item.")
        stamp = self.now() if at is None else at
        texts = [
            (key, json.dumps(item, separators=(",", ":")))
            for key, item in zip(keys, items, strict=True)
        ]
        self._store().append_adapter_log(self.namespace, stream, texts, at=stamp, replace=replace)
        return stamp

    def read(self, stream: str) -> list[Any] | None:
        """The items of ``stream`` in append order; None when it holds none."""
        texts = self._store().read_adapter_log(self.namespace, stream)
        return None if texts is None else [json.loads(text) for text in texts]

    def streams(self, prefix: str = "") -> list[tuple[str, float]]:
        """``(stream, last write time)`` of every stream whose name starts with ``prefix``."""
        found: list[tuple[str, float]] = self._store().list_adapter_logs(self.namespace, prefix)
        return found

    def delete(self, stream: str, *, prefix: str | None = None) -> None:
        """Delete ``stream`` and, with ``prefix``, every stream whose name starts with it."""
        self._store().delete_adapter_logs(self.namespace, stream, prefix=prefix)


# --- an adapter's own records ------------------------------------------------------------------


class AdapterRecords:
    """Key/value records an adapter keeps in the current stack's store (a harness's own
    checkpoints, say), so one database holds them and Kitaru's executions.

    Records live under ``namespace`` (the adapter's, e.g. ``"langgraph.checkpoints"``), in a
    ``partition`` (e.g. a thread id), by ``key``; a scan returns them ordered by partition
    and key, so keys that sort by time list oldest (or ``newest_first``) first. Values are
    bytes: small ones inline in the row, larger ones (over the stack's inline limit) in the
    artifact store, written before the row. Every call is one store transaction; these
    methods are sync (wrap them in ``asyncio.to_thread`` from async code).
    """

    def __init__(self, namespace: str) -> None:
        _runtime.check_storable("Adapter record namespace", namespace, limit=100)
        self.namespace = namespace

    @staticmethod
    def _stores() -> tuple[Any, Any]:
        """The store and blob store: the running execution's inside a flow (its stack may be
        another than the active one), the active stack's elsewhere."""
        # lazy: store backends are opened on first use, never by import kitaru
        from kitaru_core._config import load_settings
        from kitaru_core.store._backends import current_blob_store, current_store

        run = _context.current_run()
        settings = run.settings if run is not None else load_settings()
        store = run.store if run is not None else current_store(settings)
        return store, (current_blob_store, settings)

    def put(self, partition: str, items: Mapping[str, bytes]) -> None:
        """Insert or replace the records ``key: value`` of ``partition``, in one transaction."""
        store, (blobs, settings) = self._stores()
        limit = settings.inline_limit
        records = []
        for key, value in items.items():
            _runtime.check_storable("Adapter record key", key, limit=300)
            if len(value) > limit:
                ref = blobs(settings).put(bytes(value))
                records.append(AdapterRecord(self.namespace, partition, key, None, ref))
            else:
                records.append(AdapterRecord(self.namespace, partition, key, bytes(value)))
        _runtime.check_storable("Adapter record partition", partition, limit=300)
        store.put_adapter_records(records)

    def get(self, partition: str, key: str) -> bytes | None:
        """The value of one record, or None."""
        found = self.scan(partition, prefix=key, limit=None)
        return next((value for _, k, value in found if k == key), None)

    def scan(
        self,
        partition: str | None,
        *,
        prefix: str = "",
        below: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, str, bytes]]:
        """``(partition, key, value)`` of the records in ``partition`` (None: every one) whose
        key starts with ``prefix`` and sorts below ``below``, by partition and key."""
        store, (blobs, settings) = self._stores()
        records = store.scan_adapter_records(
            self.namespace,
            partition,
            prefix=prefix,
            below=below,
            newest_first=newest_first,
            limit=limit,
        )
        return [
            (r.partition, r.key, r.value if r.ref is None else blobs(settings).get(r.ref))
            for r in records
        ]

    def delete(self, partition: str, *, prefix: str = "") -> int:
        """Delete the records of ``partition`` whose key starts with ``prefix``; their count."""
        store, _ = self._stores()
        count: int = store.delete_adapter_records(self.namespace, partition, prefix=prefix)
        return count
