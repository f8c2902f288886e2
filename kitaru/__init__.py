"""Kitaru: durable execution for Python agents.

Decorate a function with ``@flow`` and its steps with ``@checkpoint``; a crash, a wait for a
human or a replay then resumes from recorded work instead of doing it again.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kitaru_core.api._decorators import Checkpoint, Flow, checkpoint, flow
from kitaru_core.errors import (
    ArtifactCorrupted,
    ArtifactNotFound,
    ConfigurationError,
    DeploymentNotFound,
    ExecutionBusy,
    ExecutionCancelled,
    ExecutionExists,
    ExecutionFailed,
    ExecutionNotFound,
    ExecutionReleased,
    ExecutionSuspended,
    ExecutionTakenOver,
    FingerprintError,
    FlowNotFound,
    InvalidDeployment,
    InvalidExecutionState,
    InvalidName,
    InvalidReplay,
    InvalidWaitAnswer,
    KitaruError,
    MissingExtraError,
    NotAKitaruStore,
    NoWorkerRunning,
    SerializationError,
    StackUnavailable,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    WaitAborted,
    WaitNotFound,
)

if TYPE_CHECKING:
    from kitaru_core._config import Stack, configure
    from kitaru_core.api._api import (
        current_execution_id,
        idempotency_key,
        load,
        log,
        progress,
        save,
    )
    from kitaru_core.api._connect import connect
    from kitaru_core.api._deployments import invoke
    from kitaru_core.api._stacks import (
        create_stack,
        current_stack,
        delete_stack,
        list_stacks,
        use_stack,
    )
    from kitaru_core.client import Execution, KitaruClient, WaitInfo
    from kitaru_core.client._handle import FlowHandle, gather, gather_async
    from kitaru_core.llm._llm import llm
    from kitaru_core.waits._waits import wait, wait_async

__version__ = "0.1.0"

_LAZY = {
    "KitaruClient": "kitaru_core.client",
    "Execution": "kitaru_core.client",
    "FlowHandle": "kitaru_core.client._handle",
    "gather": "kitaru_core.client._handle",
    "gather_async": "kitaru_core.client._handle",
    "configure": "kitaru_core._config",
    "connect": "kitaru_core.api._connect",
    "progress": "kitaru_core.api._api",
    "create_stack": "kitaru_core.api._stacks",
    "current_stack": "kitaru_core.api._stacks",
    "delete_stack": "kitaru_core.api._stacks",
    "list_stacks": "kitaru_core.api._stacks",
    "use_stack": "kitaru_core.api._stacks",
    "Stack": "kitaru_core._config",
    "current_execution_id": "kitaru_core.api._api",
    "idempotency_key": "kitaru_core.api._api",
    "invoke": "kitaru_core.api._deployments",
    "llm": "kitaru_core.llm._llm",
    "load": "kitaru_core.api._api",
    "log": "kitaru_core.api._api",
    "save": "kitaru_core.api._api",
    "wait": "kitaru_core.waits._waits",
    "wait_async": "kitaru_core.waits._waits",
    "WaitInfo": "kitaru_core.client",
}


_SUBMODULES = ("adapters", "toolkit")
"""Loaded on first access (``kitaru.toolkit``), never by ``import kitaru``."""


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"kitaru.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kitaru' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ArtifactCorrupted",
    "ArtifactNotFound",
    "Checkpoint",
    "ConfigurationError",
    "DeploymentNotFound",
    "Execution",
    "ExecutionBusy",
    "ExecutionCancelled",
    "ExecutionExists",
    "ExecutionFailed",
    "ExecutionNotFound",
    "ExecutionReleased",
    "ExecutionSuspended",
    "ExecutionTakenOver",
    "FingerprintError",
    "Flow",
    "FlowHandle",
    "FlowNotFound",
    "InvalidDeployment",
    "InvalidExecutionState",
    "InvalidName",
    "InvalidReplay",
    "InvalidWaitAnswer",
    "KitaruClient",
    "KitaruError",
    "MissingExtraError",
    "NoWorkerRunning",
    "NotAKitaruStore",
    "SerializationError",
    "Stack",
    "StackUnavailable",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "WaitAborted",
    "WaitInfo",
    "WaitNotFound",
    "checkpoint",
    "configure",
    "connect",
    "create_stack",
    "current_execution_id",
    "current_stack",
    "delete_stack",
    "flow",
    "gather",
    "gather_async",
    "idempotency_key",
    "invoke",
    "list_stacks",
    "llm",
    "load",
    "log",
    "progress",
    "save",
    "use_stack",
    "wait",
    "wait_async",
]
