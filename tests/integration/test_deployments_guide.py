"""docs/guides/deployments.md runs as written: its blocks in order, each ``# FILE.py`` python
block written to its file (a later one replaces it: "change the code"), each bash block run in
a shell in the guide's folder, all on one fresh local stack."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "guides" / "deployments.md"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.DOTALL | re.MULTILINE)
FILE_HEADER = re.compile(r"# ([\w/]+\.py)\n")


def test_the_deployments_guide_runs(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    env = {
        **subprocess_env,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), subprocess_env["PATH"]]),
    }
    outputs: list[str] = []
    for kind, code in BLOCK.findall(GUIDE.read_text()):
        if kind == "python":
            header = FILE_HEADER.match(code)
            assert header, f"every python block of the guide is a file: {code[:60]!r}"
            (workdir / header.group(1)).write_text(code)
            continue
        proc = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + code],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"{code}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        outputs.append(proc.stdout + proc.stderr)

    deploy_v1, canary, tags, elsewhere, refusals, listed, deleted = outputs
    assert "Deployed greeter v1 (tags: default)" in deploy_v1
    assert "Hello, Ada!" in deploy_v1
    # the canary ran v2's code, the default still v1's: outputs differ by version
    assert "Deployed greeter v2 (tags: canary)" in canary
    canary_out, default_out = canary.split("Good evening, Ada.")
    assert "Hello, Ada!" in default_out and "Hello, Ada!" not in canary_out
    assert re.search(r"greeter\s+v2\s+canary", canary)
    assert re.search(r"greeter\s+v1\s+default", canary)
    assert "greeter default -> v2" in tags and "greeter stable -> v2" in tags
    # invoked from a folder without the source, through the stable tag (v2)
    assert elsewhere.strip().endswith("Good evening, Bo.")
    assert "missing a required argument: 'name'" in refusals
    assert "refused, nothing ran" in refusals
    # executions of v1: the two invocations of the default before the promotion
    assert len(re.findall(r"kr-\w+\s+greeter\s+v1\s+completed", listed)) == 2
    assert "Deleted greeter v1" in deleted
