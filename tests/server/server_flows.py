"""Flows the server tests run through ``kitaru.connect`` (and the server's detached
processes resume by this file)."""

from __future__ import annotations

import kitaru
from kitaru import checkpoint, flow

BIG = "x" * 100_000
"""Bigger than the inline limit: saved as a blob, which travels through the server."""


@checkpoint
def draft(topic: str) -> str:
    kitaru.progress("drafting", topic=topic)
    print(f"drafting about {topic}")
    return f"about {topic}"


@checkpoint
def polish(text: str) -> str:
    return text.upper()


@flow
def write(topic: str) -> str:
    text = draft(topic)
    kitaru.save("big", BIG)
    approved = kitaru.wait(schema=bool, name="approve", question="Publish it?", timeout=0)
    return polish(text) if approved else "rejected"


@flow
def shout(word: str) -> str:
    return polish(word)


@flow
def fan(words: list[str]) -> list[str]:
    """Starts a child execution per word (fan-out) and gathers their results."""
    return list(kitaru.gather(*[shout.run(word) for word in words]))
