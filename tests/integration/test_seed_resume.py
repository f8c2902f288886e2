"""A resume in a process with another hash seed reuses checkpoints whose arguments hold sets."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kitaru_core.client import KitaruClient

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def test_resume_with_another_hash_seed_reuses_checkpoints_taking_sets(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    side_effects = tmp_path / "side-effects.txt"
    env = {**subprocess_env, "KITARU_TEST_SIDE_EFFECTS": str(side_effects)}
    crashed = subprocess.run(
        [sys.executable, str(SCRIPTS / "seed_flows.py")],
        cwd=SCRIPTS,
        env={**env, "PYTHONHASHSEED": "1", "KITARU_TEST_KILL_AT": "last"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    exec_id = KitaruClient().executions.latest().exec_id

    resumed = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "resume", exec_id],
        cwd=tmp_path,
        env={**env, "PYTHONHASHSEED": "2"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    execution = KitaruClient().executions.get(exec_id)
    assert execution.status == "completed", execution.error
    assert execution.result == 13
    # Before: both checkpoints got a new fingerprint in the resuming process and ran again.
    assert Counter(side_effects.read_text().split()) == {
        "count_tags": 1,
        "count_labels": 1,
        "last": 2,  # killed in its body, so it ran once more (at-least-once)
    }
