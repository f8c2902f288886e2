"""What a deployment snapshots (project-local modules, package versions) and how two
snapshots of one module load side by side in one process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kitaru_core.client import KitaruClient
from kitaru_core.engine._snapshot_build import collect
from kitaru_core.errors import InvalidDeployment

AGENT = """
import json
import sqlalchemy
import kitaru
from helpers import shout
from pkg import sub
from pkg.sub import WORD


def later() -> None:
    import late  # an import inside a function is found too (see the guide for its limits)


@kitaru.flow
def agent(text: str) -> str:
    return shout(f"{WORD} {sub.tail()} {text}")
"""


def write(root: Path, word: str) -> Path:
    (root / "pkg").mkdir(parents=True, exist_ok=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub.py").write_text(
        f"from . import util\nfrom .util import suffix\nWORD = {word!r}\n"
        "def tail() -> str:\n    return util.suffix() + suffix()\n"
    )
    (root / "pkg" / "util.py").write_text(f"def suffix() -> str:\n    return {word[0]!r}\n")
    (root / "helpers.py").write_text("def shout(text: str) -> str:\n    return text.upper()\n")
    (root / "late.py").write_text("")
    (root / "unused.py").write_text("raise RuntimeError('never imported')\n")
    (root / "agents_mod.py").write_text(AGENT)
    return root / "agents_mod.py"


def test_collect_takes_project_modules_and_records_package_versions(tmp_path: Path) -> None:
    entry = write(tmp_path, "one")
    files = collect(entry, "agents_mod", tmp_path, "agent")
    assert sorted(files.files) == [
        "agents_mod.py",
        "helpers.py",
        "late.py",
        "pkg/__init__.py",
        "pkg/sub.py",
        "pkg/util.py",
    ]
    assert files.ref == "agents_mod:agent"
    import sqlalchemy

    assert files.packages["SQLAlchemy"] == sqlalchemy.__version__
    assert "kitaru" in files.packages and "python" in files.packages
    assert not any(name in files.packages for name in ("json", "helpers", "pkg"))


def test_collect_refuses_what_cannot_be_snapshotted(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    with pytest.raises(InvalidDeployment, match="does not parse"):
        collect(tmp_path / "broken.py", "broken", tmp_path, "agent")
    with pytest.raises(InvalidDeployment, match="no such file"):
        collect(tmp_path / "missing.py", "missing", tmp_path, "agent")


def test_two_versions_of_one_module_run_side_by_side(tmp_path: Path) -> None:
    client = KitaruClient()
    entry = write(tmp_path, "one")
    v1 = client.deployments.deploy(f"{entry}:agent")
    write(tmp_path, "two")
    v2 = client.deployments.deploy(f"{entry}:agent", tags=["canary"], default=False)
    _, flow1 = client.deployments.load("agent", version=1)
    _, flow2 = client.deployments.load("agent", tag="canary")
    assert flow1 is not flow2 and (v1.version, v2.version) == (1, 2)
    assert flow1.func.__module__ != flow2.func.__module__
    assert client.deployments.invoke("agent", {"text": "x"}).wait() == "ONE OO X"
    assert client.deployments.invoke("agent", {"text": "x"}, version=2).wait() == "TWO TT X"
    # the snapshots' own modules did not leak under their plain names
    assert not any(name in sys.modules for name in ("helpers", "pkg", "pkg.sub", "agents_mod"))


def test_deploy_refuses_a_target_that_is_not_a_flow(tmp_path: Path) -> None:
    entry = write(tmp_path, "one")
    client = KitaruClient()
    with pytest.raises(InvalidDeployment, match=r"'shout' in .* is not a @flow"):
        client.deployments.deploy(f"{tmp_path / 'helpers.py'}:shout")
    with pytest.raises(InvalidDeployment, match="does not say which flow"):
        client.deployments.deploy(str(entry))
    with pytest.raises(InvalidDeployment, match="not a valid tag"):
        client.deployments.deploy(f"{entry}:agent", tags=["v2"])
