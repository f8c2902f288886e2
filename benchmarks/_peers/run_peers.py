"""Run a benchmark peer (DBOS, LangGraph) in its own pinned venv and collect its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

_BENCH = Path(__file__).resolve().parents[1]
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))
from _venvs import VENVS_DIR, ensure_venv  # noqa: E402

HERE = Path(__file__).resolve().parent
PEERS: dict[str, tuple[list[str], Path]] = {
    "dbos": (["dbos==3.4.0"], HERE / "dbos_steps.py"),
    "langgraph": (
        ["langgraph==1.2.22", "langgraph-checkpoint==4.3.2", "langgraph-checkpoint-sqlite==3.1.2"],
        HERE / "langgraph_steps.py",
    ),
}
TIMEOUT_S = 900


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def run_peer(
    name: str,
    steps: int,
    repeats: int,
    workdir: Path | str,
    *,
    resume_steps: int = 1000,
    extra_args: list[str] | None = None,
) -> dict[str, Any]:
    """Install the peer's venv if needed, run its script, return its parsed JSON.

    Never raises for an unavailable peer: returns ``{"peer": name, "error": "<one line>"}``.
    ``workdir`` must be on disk; the peer writes its SQLite files under ``workdir/<name>``.
    ``extra_args`` go to the peer's script (e.g. DBOS's ``--system-db-url``).
    """
    if name not in PEERS:
        return {"peer": name, "error": f"unknown peer {name!r}"}
    requirements, script = PEERS[name]
    try:
        python = ensure_venv(name, requirements)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return {"peer": name, "error": f"venv: {_one_line(str(exc))}"}
    cmd = [
        str(python),
        str(script),
        "--steps",
        str(steps),
        "--repeats",
        str(repeats),
        "--workdir",
        str(Path(workdir) / name),
        "--resume-steps",
        str(resume_steps),
        *(extra_args or []),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return {"peer": name, "error": _one_line(str(exc))}
    if proc.returncode != 0:
        return {"peer": name, "error": f"exit {proc.returncode}: {_one_line(proc.stderr)}"}
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                result: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError as exc:
                return {"peer": name, "error": f"bad JSON: {exc}"}
            return result
    return {"peer": name, "error": f"no JSON on stdout: {_one_line(proc.stdout)}"}


if __name__ == "__main__":
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("peers", nargs="*", default=list(PEERS))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=VENVS_DIR) as tmp:  # on disk, git-ignored
        for peer in args.peers:
            print(json.dumps(run_peer(peer, args.steps, args.repeats, tmp)))
