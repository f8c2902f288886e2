"""Flows the MCP tests steer through `kitaru mcp` (resumed by detached processes)."""

from __future__ import annotations

import kitaru


@kitaru.checkpoint
def research(topic: str) -> str:
    return f"notes on {topic}"


@kitaru.checkpoint
def write(notes: str, approved: bool) -> str:
    kitaru.save("draft", {"notes": notes, "approved": approved})
    print(f"writing from {notes!r}")
    return f"{notes} ({'published' if approved else 'held'})"


@kitaru.flow
def approval_flow(topic: str) -> str:
    notes = research(topic)
    approved = kitaru.wait(schema=bool, question="Publish the draft?", name="approve", timeout=0)
    return write(notes, approved)
