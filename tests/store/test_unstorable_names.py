"""Names a store cannot hold are refused before anything runs, the same on every backend.

A lone surrogate cannot be encoded for any store; NUL cannot be stored in PostgreSQL text. Before,
the operation's body ran, then its record was refused, and every resume ran it again.
"""

from __future__ import annotations

import io
import sys
from collections import Counter
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core.errors import InvalidName

ran: Counter[str] = Counter()
names: dict[str, str] = {}

SURROGATE = b"step-\xff".decode("utf-8", "surrogateescape")
BAD_NAMES = [pytest.param(SURROGATE, id="lone-surrogate"), pytest.param("st\x00ep", id="nul")]


@pytest.fixture
def client(store_url: str, monkeypatch: pytest.MonkeyPatch) -> KitaruClient:
    monkeypatch.setenv("KITARU_STORE_URL", store_url)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    _config.reset()
    ran.clear()
    names.clear()
    return KitaruClient(store_url=store_url)


def body(x: int) -> int:
    ran["body"] += 1
    return x


@flow
def named_step() -> int:
    return checkpoint(name=names["name"])(body)(1)


@flow
def asks() -> Any:
    return kitaru.wait(bool, question=names["question"], timeout=0)


@flow
def named_wait() -> Any:
    return kitaru.wait(bool, name=names["name"], timeout=0)


@flow
def saves() -> int:
    kitaru.save(names["name"], {"a": 1})
    return body(2)


def run_twice(client: KitaruClient, target: Any) -> kitaru.Execution:
    """Run ``target`` and retry it: both times the name must be refused up front."""
    with pytest.raises(InvalidName, match="cannot"):
        target()
    execution = client.executions.latest(flow=target.name)  # PostgreSQL keeps earlier tests'
    with pytest.raises(kitaru.KitaruError):
        client.executions.retry(execution.exec_id).wait()
    return client.executions.get(execution.exec_id)


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_checkpoint_name_the_store_cannot_hold_is_refused_before_the_body_runs(
    client: KitaruClient, bad: str
) -> None:
    names["name"] = bad
    execution = run_twice(client, named_step)
    assert ran["body"] == 0
    assert execution.status == "failed"
    assert execution.operations == []
    with pytest.raises(InvalidName, match="Checkpoint name"):
        checkpoint(name=bad)(body)


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_wait_question_or_name_the_store_cannot_hold_is_refused_before_it_is_asked(
    client: KitaruClient, bad: str
) -> None:
    names["question"] = f"Approve {bad}?"
    names["name"] = bad
    for target in (asks, named_wait):
        execution = run_twice(client, target)
        assert execution.status == "failed"
        assert client.executions.pending_waits(execution.exec_id) == []
        assert execution.operations == []


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_artifact_name_the_store_cannot_hold_is_refused_before_it_is_saved(
    client: KitaruClient, bad: str
) -> None:
    names["name"] = bad
    execution = run_twice(client, saves)
    assert execution.status == "failed"
    assert ran["body"] == 0
    assert client.artifacts.list(exec_id=execution.exec_id) == []
