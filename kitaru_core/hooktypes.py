"""The types of the hooks' parameters and results: what a plugin is given and what it returns.

Public names for plugin authors (docs/plugins/hooks.md). Standard library only, so the hook spec
can name them without loading the core. A store plugin returns a :class:`kitaru_core.store.Store`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

ExecutionEvent: TypeAlias = Literal["started", "completed", "failed", "waiting", "cancelled"]
"""What ``on_execution_event`` observes."""
OperationEvent: TypeAlias = Literal["started", "completed", "failed", "reused"]
"""What ``on_operation_event`` observes."""


@runtime_checkable
class Serializer(Protocol):
    """Stores one family of values. ``name`` is recorded with every value it writes."""

    name: str
    priority: int

    def accepts(self, value: Any) -> bool:
        """Whether this serializer can store ``value``."""
        ...

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``."""
        ...

    def loads(self, data: bytes) -> Any:
        """Decode what :meth:`dumps` wrote."""
        ...


RegisterSerializer: TypeAlias = Callable[[Serializer], None]
"""The ``register`` callback ``register_serializers`` is given."""


class ArtifactStore(Protocol):
    """Content-addressed blobs; may also have ``size(digest) -> int`` (``kitaru artifacts``)
    and ``check()``, raising a StoreError when blobs cannot be written (run before a stack's
    first run)."""

    def put(self, data: bytes) -> str:
        """Store ``data`` once; return its SHA-256 hex digest."""
        ...

    def get(self, digest: str) -> bytes:
        """The blob, or ``ArtifactNotFound`` / ``ArtifactCorrupted`` (kitaru_core.errors)."""
        ...


@dataclass(frozen=True)
class ModelUsage:
    """What one model call used: tokens, cost in dollars, and seconds it took."""

    model: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMRequest:
    """One completion request: the resolved model, chat messages and provider parameters."""

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMReply:
    """A backend's answer: the text, its usage, and the provider's full response."""

    text: str
    usage: ModelUsage
    raw: Any = None


class LLMBackend(Protocol):
    """What the ``llm_backend`` hook returns.

    A backend may also have a ``load()`` method: it runs before a call's clock starts (to import
    its provider library), so the call's recorded duration is the model call only.
    """

    def complete(self, request: LLMRequest) -> LLMReply:
        """Perform one completion."""
        ...


class ExecutionInfo(Protocol):
    """The execution an ``on_execution_event`` observer is shown, as its run began."""

    @property
    def exec_id(self) -> str: ...
    @property
    def flow_name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def run_count(self) -> int: ...
    @property
    def created_at(self) -> float: ...
    @property
    def original_exec_id(self) -> str | None: ...
    @property
    def parent_exec_id(self) -> str | None:
        """The execution that started this one as a child (fan-out), if one did."""
        ...

    @property
    def metadata(self) -> dict[str, Any]: ...


class OperationInfo(Protocol):
    """The operation attempt an ``on_operation_event`` observer is shown.

    ``op_id`` identifies the operation within its execution (name, input fingerprint and
    ordinal); ``(op_id, attempt)`` one attempt. ``error`` is the failure of a ``failed``
    attempt (``type``, ``message``, ``traceback``), else None.
    """

    @property
    def exec_id(self) -> str: ...
    @property
    def op_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def n(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def ended_at(self) -> float: ...
    @property
    def model(self) -> str | None: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def cost(self) -> float: ...
    @property
    def error(self) -> dict[str, Any] | None: ...
    @property
    def reused_from(self) -> str | None: ...


JobStatus: TypeAlias = Literal["done", "waiting", "requeue", "declined", "skipped"]
"""How one worker job on an execution ended (see :class:`JobOutcome`)."""


@dataclass(frozen=True)
class JobOutcome:
    """What a runner does after :attr:`WorkerSpec.run_job` returns.

    ``done``/``waiting``/``skipped``: nothing more (the execution finished, suspended at a wait,
    or needs no work). ``requeue``: queue the execution again, ``delay`` seconds from now (the
    worker drained, or another live worker holds its lease). ``declined``: this worker cannot
    run it (``message`` says why): queue it again for another worker, never for this one.
    """

    status: JobStatus
    delay: float = 0.0
    message: str = ""
    exec_id: str = ""
    """The execution the job ran (a schedule's job creates one)."""


@dataclass(frozen=True)
class Schedule:
    """A cron-style schedule of one flow: ``kitaru schedule add``."""

    name: str
    cron: str
    """Five fields (minute precision) or six (the sixth is seconds)."""
    flow_ref: str
    """``module:qualname`` of the flow."""
    flow_name: str
    arguments: dict[str, Any]
    """Keyword arguments of every run (JSON data)."""
    created_at: float
    flow_file: str | None = None
    code_dir: str | None = None


@dataclass(frozen=True)
class WorkerSpec:
    """What ``kitaru worker`` hands a runner's :meth:`Runner.serve`."""

    stack: str
    """The stack the worker serves."""
    concurrency: int
    """How many executions the worker runs at once."""
    lease_seconds: float
    """The execution lease length; heartbeats and stalled-worker detection follow it."""
    worker_id: str
    """This worker's id (the owner id of the executions it runs)."""
    run_job: Callable[[str], JobOutcome]
    """The core's job body: run (or resume) the execution with this id, in this thread."""
    drain: Callable[[], None]
    """Call on SIGTERM/SIGINT: running executions stop after their operation in flight."""
    queued: Callable[[], list[str]]
    """Ids of executions that are ``queued`` now (a worker re-submits any without a job)."""
    fire: Callable[[Schedule, int], JobOutcome]
    """Start (and run, in this thread) the run of ``schedule`` due at a Unix time."""


@runtime_checkable
class Runner(Protocol):
    """Where a stack's executions run; returned by the ``resolve_runner`` hook.

    The local runner (``in_process``) runs a flow in the calling process. Any other runner
    queues executions with :meth:`submit` and runs them in ``kitaru worker`` processes.
    """

    name: str
    in_process: bool

    def submit(self, exec_id: str, *, not_before: float | None = None) -> None:
        """Queue the (already recorded, ``queued``) execution; ``not_before`` is a Unix time."""
        ...

    def live_workers(self, within: float) -> int:
        """How many workers sent a heartbeat in the last ``within`` seconds."""
        ...

    def serve(self, spec: WorkerSpec) -> None:
        """Run a worker in this process until it is asked to stop (SIGTERM/SIGINT)."""
        ...


@runtime_checkable
class Scheduler(Protocol):
    """A runner that also keeps cron-style schedules (``kitaru schedule``)."""

    def add_schedule(self, schedule: Schedule) -> None:
        """Store ``schedule``, replacing one of the same name."""
        ...

    def list_schedules(self) -> list[Schedule]:
        """Every schedule, by name."""
        ...

    def remove_schedule(self, name: str) -> bool:
        """Delete the schedule called ``name``; False when there was none."""
        ...
