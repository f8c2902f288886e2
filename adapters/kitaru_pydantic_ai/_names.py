"""The operation names this adapter records, by kind: persisted data, pinned by the contract kit.

Pydantic AI's journal namer makes them (``<agent>__model.request``, ...); Kitaru adds
``<agent>__run`` (strategy ``"turn"``) and ``<agent>__external_event.<name>.ask``. A stored
execution resumes only while these stay the same.
"""

from __future__ import annotations

OPERATION_NAMES: dict[str, tuple[str, ...]] = {
    "llm": (
        "*__model.request",
        "*__model.request.*",
        "*__model.request_stream",
        "*__model.request_stream.*",
    ),
    "tool": ("*__*_toolset__*.call_tool:*",),
    "mcp": ("*__mcp_server__*.call_tool", "*__mcp_server__*.get_tools"),
    "agent": ("*__run",),
    "pydantic_ai": (
        "*__external_event.*.ask",
        "*__capability__*.*",
        "*__model.cancel_suspended_response*",
        "*__model.compact_messages*",
        "*__event_stream_handler",
        "*__*_toolset__*.get_tools",
        "*__*.validate_args",
        "*__mcp_server__*.get_instructions",
    ),
}
