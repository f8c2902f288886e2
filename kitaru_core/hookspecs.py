"""The one extension point: pluggy hooks of project ``kitaru`` (entry-point group ``kitaru``).

Parameter and result types: :mod:`kitaru_core.hooktypes`, and ``kitaru_core.store.Store``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

from kitaru_core.hooktypes import (
    ArtifactStore,
    ExecutionEvent,
    ExecutionInfo,
    LLMBackend,
    OperationEvent,
    OperationInfo,
    RegisterSerializer,
    Runner,
)

if TYPE_CHECKING:  # annotations only: the store layer and Typer sit above (pyproject ignores)
    import typer

    from kitaru_core.store._store import Store

hookspec = pluggy.HookspecMarker("kitaru")
hookimpl = pluggy.HookimplMarker("kitaru")


@hookspec
def register_serializers(register: RegisterSerializer) -> None:
    """Call ``register(serializer)`` for each serializer this plugin provides."""


@hookspec(firstresult=True)
def resolve_store(url: str, durability: str) -> Store | None:
    """Return a store for ``url``, or None when the URL's scheme is not this plugin's."""


@hookspec(firstresult=True)
def resolve_artifact_store(url: str) -> ArtifactStore | None:
    """Return an artifact store for ``url``, or None when it is not this plugin's."""


@hookspec(firstresult=True)
def llm_backend() -> LLMBackend | None:
    """Return the backend that performs ``kitaru.llm()`` calls."""


@hookspec
def on_execution_event(event: ExecutionEvent, execution: ExecutionInfo) -> None:
    """Observe an execution starting, suspending, completing, failing or being cancelled."""


@hookspec
def on_operation_event(event: OperationEvent, operation: OperationInfo) -> None:
    """Observe an operation attempt ``started``, recorded (``completed``/``failed``), or
    ``reused`` (its recorded output returned instead of running)."""


@hookspec(firstresult=True)
def resolve_runner(name: str, stack: str, store_url: str) -> Runner | None:
    """Return the runner called ``name`` for stack ``stack`` (whose store is ``store_url``),
    or None when ``name`` is not this plugin's runner."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands or command groups to the ``kitaru`` Typer app."""
