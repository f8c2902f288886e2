"""Hook implementations of the Claude Agent SDK adapter (imports no harness)."""

from __future__ import annotations

from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import RegisterSerializer

EXTRA = "claude-agent-sdk"
REQUIRES = ("claude_agent_sdk",)


@hookimpl
def register_serializers(register: RegisterSerializer) -> None:
    """Recorded Claude invocations round-trip through JSON as the SDK's own message types."""
    from kitaru_claude_agent_sdk._serializers import RecordingSerializer

    register(RecordingSerializer())
