"""Private virtual environments for benchmark peers, kept under ``benchmarks/.venvs``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

VENVS_DIR = Path(__file__).resolve().parent / ".venvs"
MARKER = "kitaru-bench-requirements.txt"


def _python(env_dir: Path) -> Path:
    sub = ("Scripts", "python.exe") if sys.platform == "win32" else ("bin", "python")
    return env_dir.joinpath(*sub)


def ensure_venv(name: str, requirements: list[str]) -> Path:
    """Create (or reuse) ``benchmarks/.venvs/<name>`` holding ``requirements``.

    The venv is rebuilt from scratch only when the requirement list differs from
    the marker written after the last successful install. Returns the venv's
    python. Raises ``RuntimeError`` with pip's last output line if pip fails.
    """
    env_dir = VENVS_DIR / name
    marker = env_dir / MARKER
    wanted = "\n".join(requirements) + "\n"
    python = _python(env_dir)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.EnvBuilder(with_pip=True, symlinks=sys.platform != "win32").create(env_dir)
    proc = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(f"pip install failed for {name}: {lines[-1]}")
    marker.write_text(wanted)
    return python
