"""The operation names this adapter records, by kind: persisted data, pinned by the contract kit.

``<agent>__model.response`` (``Model.get_response``), ``<agent>__model.stream``
(``Model.stream_response``), ``<agent>__tool.<tool>`` (a function-tool call) and
``<runner>__session.start`` (what a ``Session`` held when a run began). A stored execution
resumes only while these stay the same.
"""

from __future__ import annotations

OPERATION_NAMES: dict[str, tuple[str, ...]] = {
    "llm": ("*__model.response", "*__model.stream"),
    "tool": ("*__tool.*",),
    "openai_agents": ("*__session.start",),
}
