"""docs/guides/fan-out.md runs as written: an orchestrator fans a question out to three
Pydantic AI researcher agents (offline), replays its report, and waits for a reviewer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", reason="pydantic-ai is not installed: kitaru[pydantic-ai]")


def test_fan_out_guide_runs(run_doc: Callable[..., Any]) -> None:
    proc = run_doc("docs/guides/fan-out.md", timeout=90, KITARU_NO_PROMPT="1")
    assert "Report from 3 notes" in proc.stdout
