"""Versioned deployments (issue 16): each execution runs its own version's code.

The flows live in a temporary project (``dep_flows.py`` importing the project module
``dep_helpers.py``); "changing the code" rewrites the helper, so only the snapshots tell the
versions apart. The crash test SIGKILLs a real ``kitaru invoke`` process run from a folder
without the source, and resumes it in another one after a newer version became the default.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kitaru
from kitaru_core.client import KitaruClient
from kitaru_core.engine._snapshots import snapshot_folder
from kitaru_core.errors import DeploymentNotFound, InvalidDeployment

FLOWS = """
import os
import signal

import kitaru
from dep_helpers import GREETING


@kitaru.checkpoint
def compose(name: str) -> str:
    return f"{GREETING}, {name}"


@kitaru.checkpoint
def finish(text: str) -> str:
    if os.environ.get("DEP_TEST_KILL"):
        os.kill(os.getpid(), signal.SIGKILL)  # a crash in the middle of the flow
    return f"{text} ({GREETING})"


@kitaru.flow
def greeter(name: str, shout: bool = False) -> str:
    text = finish(compose(name))
    return text.upper() if shout else text


@kitaru.flow
def approver(item: str) -> bool:
    return kitaru.wait(schema=bool, name="ok", question=f"Ship {item}?", timeout=0)
"""


def write_project(folder: Path, greeting: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "dep_helpers.py").write_text(f"GREETING = {greeting!r}\n")
    (folder / "dep_flows.py").write_text(FLOWS)
    return folder / "dep_flows.py"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The project at v1's code, importable in this process as ``dep_flows``."""
    folder = tmp_path / "project"
    write_project(folder, "Hello")
    monkeypatch.setenv("KITARU_NO_PROMPT", "1")
    monkeypatch.syspath_prepend(str(folder))
    try:
        yield folder
    finally:
        for name in ("dep_flows", "dep_helpers"):
            sys.modules.pop(name, None)


def test_versions_tags_and_pinned_code(project: Path) -> None:
    client = KitaruClient()
    source = importlib.import_module("dep_flows")
    own_helpers = sys.modules["dep_helpers"]

    v1 = source.greeter.deploy()
    assert (v1.name, v1.version, v1.tags) == ("greeter", 1, ["default"])
    assert v1.flow_ref == "dep_flows:greeter"
    assert "python" in v1.packages and "kitaru" in v1.packages
    # identical code from the file path is the same snapshot, so the same version
    again = client.deployments.deploy(f"{project}/dep_flows.py:greeter")
    assert (again.version, again.snapshot) == (1, v1.snapshot)
    assert v1.new and not again.new

    first = kitaru.invoke("greeter", args={"name": "Ada"})
    assert first.wait() == "Hello, Ada (Hello)"

    write_project(project, "Bonsoir")  # change the code
    v2 = client.deployments.deploy(
        f"{project}/dep_flows.py:greeter", tags=["canary"], default=False
    )
    assert (v2.version, v2.tags) == (2, ["canary"]) and v2.snapshot != v1.snapshot

    assert kitaru.invoke("greeter", args={"name": "Bo"}).wait() == "Hello, Bo (Hello)"
    assert kitaru.invoke("greeter", {"name": "Bo"}, tag="canary").wait() == "Bonsoir, Bo (Bonsoir)"
    assert kitaru.invoke("greeter", {"name": "Bo", "shout": True}, version="v1").wait() == (
        "HELLO, BO (HELLO)"
    )
    # both versions ran in this process; its own import of the helper is untouched
    assert sys.modules["dep_helpers"] is own_helpers and own_helpers.GREETING == "Hello"
    assert (snapshot_folder(client.settings, v1.snapshot) / "dep_helpers.py").is_file()

    # refusals name what exists, and run nothing
    before = len(client.executions.list())
    with pytest.raises(InvalidDeployment, match="unexpected keyword argument 'nme'"):
        kitaru.invoke("greeter", args={"name": "x", "nme": "y"})
    with pytest.raises(InvalidDeployment, match="missing a required argument: 'name'"):
        kitaru.invoke("greeter", args={})
    with pytest.raises(DeploymentNotFound, match=r"no tag 'stable'.*canary -> v2, default -> v1"):
        kitaru.invoke("greeter", args={"name": "x"}, tag="stable")
    with pytest.raises(DeploymentNotFound, match=r"no version v7\. Versions: v1, v2"):
        kitaru.invoke("greeter", args={"name": "x"}, version=7)
    with pytest.raises(DeploymentNotFound, match=r"No deployment is named 'greter'.*greeter"):
        kitaru.invoke("greter", args={"name": "x"})
    assert len(client.executions.list()) == before

    # promote v2; the v1 execution still replays (and retries) on v1's code
    client.deployments.tag("greeter", 2, "default")
    assert kitaru.invoke("greeter", {"name": "Cy"}).wait() == "Bonsoir, Cy (Bonsoir)"
    replayed = client.executions.replay(first.exec_id, from_="finish")
    assert replayed.wait() == "Hello, Ada (Hello)"
    assert client.executions.get(replayed.exec_id).deployment_version == 1

    by_version = {n: sorted(e.exec_id for e in client.executions.list(version=n)) for n in (1, 2)}
    assert first.exec_id in by_version[1] and replayed.exec_id in by_version[1]
    assert len(by_version[1]) == 4 and len(by_version[2]) == 2
    listed = client.deployments.list("greeter")
    assert [(d.version, d.tags) for d in listed] == [(2, ["canary", "default"]), (1, [])]


def test_delete_is_refused_while_an_execution_of_the_version_is_unfinished(
    project: Path,
) -> None:
    client = KitaruClient()
    client.deployments.deploy(f"{project}/dep_flows.py:approver", tags=["stable"])
    waiting = kitaru.invoke("approver", args={"item": "v1"})
    assert waiting.status == "waiting"
    with pytest.raises(InvalidDeployment, match=f"unfinished \\({waiting.exec_id}\\)"):
        client.deployments.delete("approver", 1)
    assert [d.version for d in client.deployments.list("approver")] == [1]

    client.executions.cancel(waiting.exec_id)
    assert client.deployments.delete("approver", "v1") == ["default", "stable"]
    with pytest.raises(DeploymentNotFound, match="No deployment is named 'approver'"):
        client.deployments.list("approver")
    # the number is not reused: identical code brings v1 back, other code is v2
    assert client.deployments.deploy(f"{project}/dep_flows.py:approver").version == 1
    write_project(project, "Changed")
    assert client.deployments.deploy(f"{project}/dep_flows.py:approver").version == 2


def test_a_crashed_v1_execution_resumes_on_v1_code_after_v2_became_default(
    project: Path, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    client = KitaruClient()
    client.deployments.deploy(f"{project}/dep_flows.py:greeter")
    elsewhere = tmp_path / "elsewhere"  # no source here, nor on the children's path
    elsewhere.mkdir()
    cli = [sys.executable, "-m", "kitaru_core.cli"]
    crashed = subprocess.run(
        [*cli, "invoke", "greeter", "--args", json.dumps({"name": "Ada"})],
        cwd=elsewhere,
        env={**subprocess_env, "DEP_TEST_KILL": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -9, crashed.stderr
    [execution] = client.executions.list(deployment="greeter", version=1)
    assert [op.name for op in execution.operations if op.status == "completed"] == ["compose"]

    write_project(project, "Bonsoir")
    assert client.deployments.deploy(f"{project}/dep_flows.py:greeter").tags == ["default"]

    resumed = subprocess.run(
        [*cli, "executions", "resume", execution.exec_id, "--json"],
        cwd=elsewhere,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["result"] == "Hello, Ada (Hello)"  # v1's helper, though v2 is the default now
    assert data["deployment_version"] == 1
    reused = {op["name"]: op["reused"] for op in data["operations"]}
    assert reused == {"compose": True, "finish": False}
