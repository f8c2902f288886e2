"""docs/guides/server.md runs against a real ``kitaru server start`` process: a token made
with the CLI, the flow run through ``kitaru.connect``, the webhook answer, and the detached
resume on the server's machine. The server's output never shows the token."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import free_port

from kitaru_core.server._tokens import create_token
from kitaru_core.store._sql_store import SqlStore

pytestmark = pytest.mark.slow


def test_server_guide_runs_against_kitaru_server_start(
    run_doc: Callable[..., Any], subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    server_home = tmp_path / "server-home"
    env = {**subprocess_env, "KITARU_HOME": str(server_home)}
    kitaru = [sys.executable, "-m", "kitaru"]
    store = SqlStore(f"sqlite:///{server_home / 'kitaru.db'}")  # the CLI is tested in test_api
    _, token = create_token(store, "guide")
    store.close()
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [*kitaru, "server", "start", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert httpx.get(f"{url}/api/executions").status_code == 401
        proc = run_doc("docs/guides/server.md", KITARU_SERVER_URL=url, KITARU_SERVER_TOKEN=token)
        assert "NOTES ON DURABLE AGENTS" in proc.stdout
    finally:
        server.terminate()
        server.wait(15)
    output = log.read_text()
    assert "/api/executions" in output and token not in output
