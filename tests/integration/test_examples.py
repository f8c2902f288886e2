"""The examples run as a user runs them: ``--crash`` prints the id to resume, and it resumes."""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
EXEC_ID = re.compile(r"\bkr-[0-9a-z]{26}\b")
TIMEOUT = 120


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def crash_then_resume(example: str, flags: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run ``example --crash``, take the execution id it printed, resume it; the resume output."""
    crashed = run([str(REPO_ROOT / "examples" / example), *flags, "--crash"], env, cwd)
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    ids = set(EXEC_ID.findall(crashed.stdout))
    assert len(ids) == 1, f"--crash must print the execution id to resume:\n{crashed.stdout}"
    (exec_id,) = ids
    resumed = run(["-m", "kitaru_core.cli", "executions", "resume", exec_id], env, cwd)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    status = run(["-m", "kitaru_core.cli", "executions", "get", exec_id, "--json"], env, cwd)
    assert '"status": "completed"' in status.stdout, status.stdout + status.stderr
    return resumed.stdout


def test_quickstart_crash_prints_the_execution_id_to_resume(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    crash_then_resume("quickstart.py", [], subprocess_env, tmp_path)


def test_research_agent_crash_prints_the_execution_id_to_resume(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    for extra, module in (("pydantic-ai", "pydantic_ai"), ("litellm", "litellm")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs pip install 'kitaru[{extra}]'")
    crash_then_resume("pydantic_ai_research_agent.py", ["--offline"], subprocess_env, tmp_path)


def test_langgraph_agent_crash_prints_the_execution_id_to_resume(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    if importlib.util.find_spec("langgraph") is None:
        pytest.skip("needs pip install 'kitaru[langgraph]'")
    resumed = crash_then_resume("langgraph_agent.py", ["--offline"], subprocess_env, tmp_path)
    assert "reading n2" in resumed and "searching notes" not in resumed  # reused, not rerun
