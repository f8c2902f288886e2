"""The HTTP status of each Kitaru error."""

from __future__ import annotations

from kitaru_core.errors import (
    ArtifactNotFound,
    DeploymentNotFound,
    ExecutionNotFound,
    InvalidDeployment,
    InvalidExecutionState,
    InvalidReplay,
    InvalidWaitAnswer,
    KitaruError,
    WaitNotFound,
)

STATUS_OF_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (ExecutionNotFound, 404),
    (ArtifactNotFound, 404),
    (WaitNotFound, 404),
    (DeploymentNotFound, 404),
    (InvalidDeployment, 422),
    (InvalidExecutionState, 409),
    (InvalidReplay, 422),
    (InvalidWaitAnswer, 422),
)


def status_of(exc: KitaruError) -> int:
    """The HTTP status that stands for a Kitaru error (400 for the rest)."""
    return next((code for kind, code in STATUS_OF_ERROR if isinstance(exc, kind)), 400)
