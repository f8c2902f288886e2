"""The Python blocks of docs/guides/waits.md and replay.md run, in order, as one script each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.parametrize("guide", ["waits.md", "replay.md"])
def test_guide_snippets_run(guide: str, run_doc: Callable[..., Any]) -> None:
    run_doc(f"docs/guides/{guide}", timeout=60, KITARU_NO_PROMPT="1")


def test_adapter_authors_page_runs(run_doc: Callable[..., Any]) -> None:
    run_doc("docs/plugins/adapters.md", timeout=60)
