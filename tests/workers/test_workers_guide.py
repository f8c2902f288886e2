"""docs/guides/workers.md: its config, module and commands run, in order, against PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import HERE

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

GUIDE = HERE.parent.parent / "docs" / "guides" / "workers.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_guide_commands_run(worker_db: str, kitaru_home: Path, tmp_path: Path) -> None:
    blocks = BLOCK.findall(GUIDE.read_text())
    config = next(body for lang, body in blocks if lang == "toml")
    assert "postgresql+psycopg://postgres@127.0.0.1:5432/kitaru" in config
    kitaru_home.mkdir(parents=True, exist_ok=True)
    (kitaru_home / "config.toml").write_text(
        config.replace("postgresql+psycopg://postgres@127.0.0.1:5432/kitaru", worker_db)
        .replace("lease_seconds = 30", "lease_seconds = 3")
        .replace("/tmp/kitaru-artifacts", str(tmp_path / "artifacts"))
    )
    pythons = [body for lang, body in blocks if lang == "python"]
    assert pythons[0].startswith("# research_flows.py\n")
    (tmp_path / "research_flows.py").write_text(pythons[0])
    env = {**os.environ, "PYTHONPATH": str(HERE.parent.parent)}
    background: list[subprocess.Popen[str]] = []
    outputs = []
    try:
        for lang, body in blocks:
            if lang == "python" and body is not pythons[0]:
                script = tmp_path / "snippet.py"
                script.write_text(body)
                outputs.append(_run(["python", str(script)], env, tmp_path))
            if lang != "bash":
                continue
            for line in body.strip().splitlines():
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").partition("=")
                    env[name] = value
                elif line.endswith("&"):
                    background.append(
                        subprocess.Popen(
                            ["bash", "-c", f"exec {line.removesuffix('&').strip()}"],
                            env=env,
                            cwd=tmp_path,
                            text=True,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                    )
                else:
                    outputs.append(_run(["bash", "-c", line], env, tmp_path))
    finally:
        for proc in background:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    text = "\n".join(outputs)
    assert "durable agents: result 0 / durable agents: result 1" in text
    assert "nightly  0 3 * * *  research_flows:research" in text
    assert "queued" in text  # the delayed runs wait for their time


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, f"{cmd}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout
