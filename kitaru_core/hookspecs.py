"""The one extension point: pluggy hooks of project ``kitaru`` (entry-point group ``kitaru``)."""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("kitaru")
hookimpl = pluggy.HookimplMarker("kitaru")


@hookspec
def register_serializers(register: Any) -> None:
    """Call ``register(serializer)`` for each serializer this plugin provides."""


@hookspec(firstresult=True)
def resolve_store(url: str, durability: str) -> Any:
    """Return a store for ``url``, or None when the URL's scheme is not this plugin's."""


@hookspec(firstresult=True)
def resolve_artifact_store(url: str) -> Any:
    """Return an artifact store for ``url``, or None when it is not this plugin's."""


@hookspec(firstresult=True)
def llm_backend() -> Any:
    """Return the backend that performs ``kitaru.llm()`` calls."""


@hookspec
def on_execution_event(event: str, execution: Any) -> None:
    """Observe an execution starting, suspending, completing, failing or being cancelled."""


@hookspec
def on_operation_event(event: str, operation: Any) -> None:
    """Observe an operation being recorded (``completed``/``failed``) or ``reused``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands or command groups to the ``kitaru`` Typer app."""
