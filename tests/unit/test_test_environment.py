"""The test environment itself: warning filters and offline settings every session relies on."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "message",
    [
        "Item 'a' on TypedDict class 'T' is using the `ReadOnly` qualifier. Pydantic will not "
        "protect items from any mutation on dictionary instances.",
        "Items 'a', 'b' on TypedDict class 'T' are using the `ReadOnly` qualifier. Pydantic will "
        "not protect items from any mutation on dictionary instances.",
    ],
)
def test_readonly_qualifier_warning_is_ignored_in_every_wording(message: str) -> None:
    # pyproject's filterwarnings turns warnings into errors; this one (raised by Pydantic for
    # LiteLLM's TypedDicts) must be ignored whatever its grammatical number.
    warnings.warn(message, UserWarning, stacklevel=1)


def test_litellm_local_price_map_is_forced_for_the_whole_test_run() -> None:
    # Set by tests/conftest.py before anything imports LiteLLM, and inherited by every child
    # process the tests start, so no test fetches LiteLLM's remote price map.
    assert os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").lower() == "true"


def test_a_skip_fails_the_run_when_skips_are_forbidden(tmp_path: Path) -> None:
    (tmp_path / "test_passes.py").write_text("def test_passes():\n    pass\n")
    (tmp_path / "test_probe.py").write_text(
        "import pytest\n\npytest.importorskip('kitaru_no_such_module')\n\n"
        "def test_never_runs():\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KITARU_TESTS_NO_SKIPS"}
    env["PYTHONPATH"] = str(TESTS_DIR)
    command = [sys.executable, "-m", "pytest", "-p", "skip_guard", "-p", "no:cacheprovider"]
    command += ["-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)]
    allowed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    env["KITARU_TESTS_NO_SKIPS"] = "1"
    forbidden = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert forbidden.returncode == 1, forbidden.stdout + forbidden.stderr
    assert "KITARU_TESTS_NO_SKIPS=1 and 1 skipped" in forbidden.stdout
    assert "could not import 'kitaru_no_such_module'" in forbidden.stdout
