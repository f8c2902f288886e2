"""The Python client for executions and artifacts."""

from kitaru_core.client._client import ArtifactsAPI, ExecutionsAPI, KitaruClient
from kitaru_core.client._handoff import hand_off, hand_off_replay
from kitaru_core.client._models import Artifact, Execution, OperationInfo
from kitaru_core.client._waits import WaitInfo

__all__ = [
    "Artifact",
    "ArtifactsAPI",
    "Execution",
    "ExecutionsAPI",
    "KitaruClient",
    "OperationInfo",
    "WaitInfo",
    "hand_off",
    "hand_off_replay",
]
