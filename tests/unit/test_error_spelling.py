"""Error types have one public spelling, ``kitaru.X``, wherever they are shown or stored."""

from __future__ import annotations

import inspect
import json
import time

import pytest
from typer.testing import CliRunner

import kitaru
from kitaru import KitaruClient, flow
from kitaru_core import errors
from kitaru_core.cli import app


@flow
def asks() -> bool:
    return bool(kitaru.wait(bool, name="approve", timeout=0))


@flow
def breaks() -> None:
    raise ValueError("not an error of Kitaru's")


def aborted_execution() -> str:
    exec_id = str(asks.run().exec_id)
    client = KitaruClient()
    client.executions.abort_wait(exec_id, wait="approve", reason="budget frozen")
    with pytest.raises(kitaru.WaitAborted):
        client.executions.resume(exec_id).wait()
    return exec_id


def shown(exec_id: str) -> tuple[str, str, str]:
    """What a user sees of ``exec_id``: the client's error type, ``get`` and ``get --json``."""
    runner = CliRunner()
    text = runner.invoke(app, ["executions", "get", exec_id]).output
    data = runner.invoke(app, ["executions", "get", exec_id, "--json"]).stdout
    return KitaruClient().executions.get(exec_id).error["type"], text, data


def test_error_types_are_spelled_kitaru_x_everywhere_they_are_shown() -> None:
    exec_id = aborted_execution()
    kind, text, data = shown(exec_id)
    assert kind == "kitaru.WaitAborted"
    assert "kitaru.WaitAborted" in text and "kitaru_core" not in text
    assert json.loads(data)["error"]["type"] == "kitaru.WaitAborted"
    assert "kitaru_core" not in data.split('"traceback"')[0]
    with pytest.raises(kitaru.ExecutionFailed, match=r"kitaru\.WaitAborted") as caught:
        KitaruClient().executions.get(exec_id).result_or_raise()
    assert "kitaru_core" not in str(caught.value)
    # stored that way too, so every reader of the store sees the same name
    stored = KitaruClient().store.get_execution(exec_id).error
    assert stored is not None and stored["type"] == "kitaru.WaitAborted"

    with pytest.raises(ValueError):
        breaks()
    [failed] = KitaruClient().executions.list(flow="breaks")
    assert failed.error["type"] == "builtins.ValueError"  # other errors keep their own name


def test_error_types_stored_with_the_old_spelling_are_shown_as_kitaru_x() -> None:
    exec_id = aborted_execution()
    store = KitaruClient().store
    old = {**store.get_execution(exec_id).error, "type": "kitaru_core.errors.WaitAborted"}
    store.update_execution(exec_id, error=old, updated_at=time.time())
    kind, text, data = shown(exec_id)
    assert kind == "kitaru.WaitAborted"
    assert "kitaru.WaitAborted" in text and "kitaru_core.errors" not in text
    assert json.loads(data)["error"]["type"] == "kitaru.WaitAborted"
    [listed] = KitaruClient().executions.list(flow="asks")
    assert listed.error["type"] == "kitaru.WaitAborted"


def test_every_kitaru_error_is_exported_from_kitaru() -> None:
    # The spelling kitaru.X must name something a user can import and catch.
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, errors.KitaruError) and cls.__module__ == errors.__name__:
            assert getattr(kitaru, name) is cls, name
