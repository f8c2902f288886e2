"""A step reused from the record shows 0 attempts and "reused", after a resume as after a replay."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.cli import app

knobs = {"fail": True}


@checkpoint
def fetch(x: int) -> int:
    return x + 1


@checkpoint
def finish(x: int) -> int:
    if knobs["fail"]:
        raise RuntimeError("finish broke")
    return x * 2


@flow
def pipeline() -> int:
    return finish(fetch(1))


def seen(exec_id: str) -> dict[str, list[tuple[int, bool]]]:
    """``{name: [(attempts, reused)]}`` from the client, ``executions get`` and its ``--json``."""
    runner = CliRunner()
    views: dict[str, list[tuple[int, bool]]] = {}
    ops = KitaruClient().executions.get(exec_id).operations
    views["client"] = [(op.attempts, op.reused) for op in ops]
    data: Any = json.loads(runner.invoke(app, ["executions", "get", exec_id, "--json"]).stdout)
    views["json"] = [(op["attempts"], op["reused"]) for op in data["operations"]]
    text = runner.invoke(app, ["executions", "get", exec_id]).stdout
    rows = [line.split() for line in text.splitlines() if " checkpoint " in line]
    views["cli"] = [(int(row[4]), row[-1] == "yes") for row in rows]
    return views


@pytest.mark.parametrize("how", ["resume", "retry", "replay"])
def test_reused_step_shows_zero_attempts_and_reused_after_resume_and_replay(how: str) -> None:
    knobs["fail"] = True
    with pytest.raises(RuntimeError):
        pipeline()
    [source] = KitaruClient().executions.list()
    assert seen(source.exec_id)["client"] == [(1, False), (1, False)]

    knobs["fail"] = False
    executions = KitaruClient().executions
    if how == "replay":
        handle = executions.replay(source.exec_id, from_="finish")
    else:
        handle = getattr(executions, how)(source.exec_id)
    assert handle.wait() == 4
    views = seen(handle.exec_id)
    # Before: fetch showed 1 attempt when reused by a resume or retry, 0 when reused by a replay.
    expected = [(0, True), (1, False)] if how == "replay" else [(0, True), (2, False)]
    assert views == {"client": expected, "json": expected, "cli": expected}
