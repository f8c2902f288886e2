"""Bad input gives a clear KitaruError naming the thing at fault, and loses nothing stored."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core._config import load_settings
from kitaru_core.errors import (
    ArtifactCorrupted,
    ArtifactNotFound,
    ConfigurationError,
    ExecutionNotFound,
    FlowNotFound,
    InvalidExecutionState,
    NotAKitaruStore,
    SerializationError,
)

# unserializable output --------------------------------------------------------------------------

UNSTORABLE: dict[str, tuple[Callable[[], Any], str]] = {
    "generator": (lambda: (i for i in range(3)), "builtins:generator"),
    "lock": (threading.Lock, "_thread:lock"),
}


@checkpoint
def fine(x: int) -> int:
    return x + 1


@checkpoint
def make_unstorable(kind: str) -> Any:
    return UNSTORABLE[kind][0]()


@flow
def unstorable_flow(kind: str) -> Any:
    kitaru.save("kept", {"saved": "before the failure"})
    fine(1)
    return make_unstorable(kind)


@pytest.mark.parametrize("kind", sorted(UNSTORABLE))
def test_unserializable_output_fails_that_checkpoint_naming_it_and_the_type(kind: str) -> None:
    assert fine(0) == 1
    type_name = UNSTORABLE[kind][1]
    with pytest.raises(SerializationError) as caught:
        unstorable_flow(kind)
    message = str(caught.value)
    assert "checkpoint 'make_unstorable'" in message
    assert type_name in message

    client = KitaruClient()
    [execution] = client.executions.list()
    assert execution.status == "failed"
    assert execution.error is not None
    assert execution.error["type"] == "kitaru.SerializationError"
    assert "make_unstorable" in execution.error["message"]
    summary = [(op.name, op.status) for op in execution.operations]
    assert summary == [("fine", "completed"), ("make_unstorable", "failed")]
    assert kitaru.load(execution.exec_id, "kept") == {"saved": "before the failure"}


def test_an_unserializable_flow_argument_is_named_and_nothing_is_recorded() -> None:
    with pytest.raises(SerializationError, match=r"Flow 'fine_flow' argument 'x'.*_thread:lock"):
        fine_flow(threading.Lock())  # type: ignore[arg-type]
    assert KitaruClient().executions.list() == []


# unknown ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["get", "logs", "resume", "retry", "cancel"])
def test_unknown_execution_id_is_named(action: str) -> None:
    executions = KitaruClient().executions
    with pytest.raises(ExecutionNotFound, match="kr-doesnotexist") as caught:
        getattr(executions, action)("kr-doesnotexist")
    assert caught.value.exec_id == "kr-doesnotexist"


def test_loading_from_an_unknown_execution_names_it() -> None:
    with pytest.raises(ExecutionNotFound, match="kr-nothere"):
        kitaru.load("kr-nothere", "report")


# corrupted and missing blobs --------------------------------------------------------------------


@flow
def big_flow(size: int) -> str:
    kitaru.save("big", "b" * size)
    return "r" * size


def _blob_path(value: str) -> Path:
    from kitaru_core.store._serialization import get_registry

    _, data = get_registry().dumps(value, what="test")
    digest = hashlib.sha256(data).hexdigest()
    path = load_settings().home / "artifacts" / "blobs" / digest[:2] / digest
    assert path.is_file()
    return path


def test_a_corrupted_blob_is_detected_on_read_and_named() -> None:
    size = load_settings().inline_limit + 10
    big_flow(size)
    client = KitaruClient()
    [execution] = client.executions.list()
    [artifact] = client.artifacts.list(exec_id=execution.exec_id)
    artifact_blob, result_blob = _blob_path("b" * size), _blob_path("r" * size)
    for path in (artifact_blob, result_blob):
        path.write_bytes(b"tampered" + path.read_bytes()[8:])

    with pytest.raises(ArtifactCorrupted, match=artifact_blob.name):
        client.artifacts.get(artifact.artifact_id).load()
    with pytest.raises(ArtifactCorrupted, match=result_blob.name):
        _ = client.executions.get(execution.exec_id).result
    # Nothing was deleted or rewritten: the rows and the (bad) blob are still there to inspect.
    assert client.executions.get(execution.exec_id).status == "completed"
    assert artifact_blob.read_bytes().startswith(b"tampered")


def test_a_missing_blob_is_named() -> None:
    size = load_settings().inline_limit + 10
    big_flow(size)
    client = KitaruClient()
    [artifact] = client.artifacts.list()
    blob = _blob_path("b" * size)
    blob.unlink()
    with pytest.raises(ArtifactNotFound, match=blob.name):
        artifact.load()


# a store that is not ours -----------------------------------------------------------------------


def _random_bytes_file(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _other_apps_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO customers (name) VALUES (?)", [("ada",), ("grace",)])
    conn.commit()
    conn.close()


@pytest.mark.parametrize("make", [_random_bytes_file, _other_apps_database])
def test_a_store_file_that_is_not_kitaru_is_refused_and_left_untouched(
    kitaru_home: Path, make: Callable[[Path], None]
) -> None:
    kitaru_home.mkdir(parents=True)
    store_file = kitaru_home / "kitaru.db"
    make(store_file)
    before = store_file.read_bytes()
    files_before = sorted(p.name for p in kitaru_home.iterdir())

    with pytest.raises(NotAKitaruStore, match=str(store_file)):
        KitaruClient()
    with pytest.raises(NotAKitaruStore):
        fine_flow(1)

    assert store_file.read_bytes() == before
    assert sorted(p.name for p in kitaru_home.iterdir()) == files_before


@flow
def fine_flow(x: int) -> int:
    return fine(x)


# configuration and state ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "active_stack = [unclosed\n",
        '[stacks.prod]\nartifacts = "/tmp/nowhere"\n',
        b"\xff\xfe not text".decode("latin-1"),
    ],
)
def test_an_invalid_config_file_is_named(kitaru_home: Path, text: str) -> None:
    kitaru_home.mkdir(parents=True)
    config = kitaru_home / "config.toml"
    config.write_text(text, encoding="latin-1")
    before = config.read_bytes()
    with pytest.raises(ConfigurationError, match=str(config)):
        KitaruClient()
    assert config.read_bytes() == before


def test_an_unknown_stack_is_named(kitaru_home: Path) -> None:
    kitaru_home.mkdir(parents=True)
    (kitaru_home / "config.toml").write_text('active_stack = "prod"\n')
    with pytest.raises(ConfigurationError, match="'prod'"):
        KitaruClient()


@pytest.mark.parametrize("action", ["resume", "retry"])
def test_a_completed_execution_cannot_be_resumed_or_retried(action: str) -> None:
    assert fine_flow(1) == 2
    client = KitaruClient()
    [execution] = client.executions.list()
    with pytest.raises(InvalidExecutionState, match=f"{execution.exec_id}.*already completed"):
        getattr(client.executions, action)(execution.exec_id)
    with pytest.raises(InvalidExecutionState, match="already completed"):
        client.executions.cancel(execution.exec_id)
    after = client.executions.get(execution.exec_id)
    assert (after.status, after.result, after.run_count) == ("completed", 2, 1)


MISSING_FLOW_MODULE = """
from kitaru import checkpoint, flow


@checkpoint
def add(a: int, b: int) -> int:
    return a + b


@flow
def agent(x: int) -> int:
    return add(x, 1)
"""


def test_a_flow_whose_code_is_gone_is_named_and_left_resumable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys
    import time

    from kitaru_core.store._ids import new_exec_id
    from kitaru_core.store._records import ExecutionRecord
    from kitaru_core.store._values import ARGS_CODEC, encode_arguments

    monkeypatch.setattr(sys, "path", list(sys.path))
    module = f"kitaru_gone_{uuid.uuid4().hex[:8]}"
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    client = KitaruClient()
    record = ExecutionRecord(
        exec_id=new_exec_id(),
        flow_name="agent",
        flow_ref=f"{module}:agent",
        code_dir=str(code_dir),
        status="failed",
        created_at=time.time(),
        inputs_codec=ARGS_CODEC,
        inputs=encode_arguments({"x": 41}, what="test"),
        run_count=1,
        error={"type": "builtins.RuntimeError", "message": "earlier failure"},
    )
    client.store.create_execution(record)

    for action in ("resume", "retry"):
        with pytest.raises(FlowNotFound, match=f"{module}:agent"):
            getattr(client.executions, action)(record.exec_id)
        after = client.store.get_execution(record.exec_id)
        assert (after.status, after.owner, after.run_count) == ("failed", None, 1)
        assert after.error == record.error

    (code_dir / f"{module}.py").write_text(MISSING_FLOW_MODULE)
    importlib.invalidate_caches()
    try:
        assert client.executions.resume(record.exec_id).wait() == 42
    finally:
        sys.modules.pop(module, None)
    assert client.executions.get(record.exec_id).run_count == 2
