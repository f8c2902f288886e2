"""Workers run the snapshot an execution pins, not the code on their disk, and keep two
versions of one module apart in one process (issue 16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import LEASE, Workers, wait_for

from kitaru import KitaruClient

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FLOW = """
import kitaru
from dep_wk_helpers import GREETING


@kitaru.checkpoint
def compose(name: str) -> str:
    return f"{GREETING}, {name}"


@kitaru.flow
def wk_greeter(name: str) -> str:
    return compose(name)
"""


def write_project(folder: Path, greeting: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "dep_wk_helpers.py").write_text(f"GREETING = {greeting!r}\n")
    (folder / "dep_wk_flows.py").write_text(FLOW)
    return folder / "dep_wk_flows.py"


def test_one_worker_runs_each_execution_on_its_pinned_version(
    workers: Workers, worker_stack: dict[str, str], kitaru_home: Path, tmp_path: Path
) -> None:
    client = KitaruClient()
    entry = write_project(tmp_path / "project", "Hello")
    client.deployments.deploy(f"{entry}:wk_greeter")
    write_project(tmp_path / "project", "Bonsoir")
    client.deployments.deploy(f"{entry}:wk_greeter", tags=["canary"], default=False)
    v1 = client.deployments.invoke("wk_greeter", {"name": "Ada"})
    v2 = client.deployments.invoke("wk_greeter", {"name": "Ada"}, tag="canary")
    assert v1.status == v2.status == "queued"

    # The worker has its own home (an empty snapshot cache) and, on its path, a module of the
    # same name holding other code: neither version may run that.
    worker_home = tmp_path / "worker-home"
    worker_home.mkdir()
    shutil.copy(kitaru_home / "config.toml", worker_home / "config.toml")
    on_disk = write_project(tmp_path / "worker-disk", "Disk").parent
    env = {
        "KITARU_HOME": str(worker_home),
        "PYTHONPATH": f"{on_disk}:{worker_stack['PYTHONPATH']}",
    }
    from kitaru_core.runners import runner_for

    workers.start(env=env)
    runner = runner_for(client.settings)
    wait_for(lambda: runner.live_workers(LEASE * 5) > 0, 30, "the worker to register")
    assert v1.wait(timeout=60) == "Hello, Ada"
    assert v2.wait(timeout=60) == "Bonsoir, Ada"
    assert len(list((worker_home / "deployments").iterdir())) == 2
