"""The Python blocks of docs/guides/waits.md and replay.md run, in order, as one script each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def script_of(guide: Path) -> str:
    blocks = BLOCK.findall(guide.read_text())
    assert blocks, f"{guide} has no python blocks"
    return "\n".join(blocks)


@pytest.mark.parametrize("guide", ["waits.md", "replay.md"])
def test_guide_snippets_run(guide: str, subprocess_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / guide.replace(".md", "_guide.py")
    script.write_text(script_of(GUIDES / guide))
    proc = subprocess.run(
        [sys.executable, str(script)],
        env={**subprocess_env, "KITARU_NO_PROMPT": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
