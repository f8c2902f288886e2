"""``kitaru doctor``: integrity, schema revision and (on request) blob hashes of the store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner, Result

import kitaru
from kitaru import flow
from kitaru_core._config import load_settings
from kitaru_core.cli import app
from kitaru_core.store import _backends
from kitaru_core.store._migrations import HEAD_REVISION, VERSION_TABLE
from kitaru_core.store._serialization import get_registry

runner = CliRunner()


@flow
def filler(n: int, big: int = 0) -> int:
    for i in range(n):
        print(f"line {i} of execution {n}: " + "x" * 200)
    if big:
        kitaru.save("big", "b" * big)
    return n


def doctor(*args: str) -> Result:
    _backends.close_all()  # as a fresh CLI process would find the store
    return runner.invoke(app, ["doctor", *args])


def doctor_json(*args: str, exit_code: int) -> dict[str, Any]:
    result = doctor(*args, "--json")
    assert result.exit_code == exit_code, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def checks(report: dict[str, Any]) -> dict[str, bool]:
    return {check["check"]: check["ok"] for check in report["checks"]}


def test_doctor_finds_a_healthy_store_healthy() -> None:
    filler(3, big=load_settings().inline_limit + 10)
    report = doctor_json("--blobs", exit_code=0)
    assert report["ok"] is True
    assert checks(report) == {"connection": True, "integrity": True, "schema": True, "blobs": True}
    schema = next(c for c in report["checks"] if c["check"] == "schema")
    assert HEAD_REVISION in schema["detail"]
    text = doctor()
    assert text.exit_code == 0, text.output
    assert "integrity" in text.stdout and "ok" in text.stdout


def test_doctor_detects_garbage_in_the_middle_pages_of_a_sqlite_store(kitaru_home: Path) -> None:
    # Before, nothing noticed: the store opened and listed as if it were whole.
    for n in range(40):
        filler(30 + n)
    _backends.close_all()
    db = kitaru_home / "kitaru.db"
    size = db.stat().st_size
    assert size > 64 * 4096
    with db.open("r+b") as handle:
        for page in range(size // 4096 // 3, size // 4096 // 3 + 4):
            handle.seek(page * 4096 + 512)
            handle.write(b"\xa5garbage" * 256)
    report = doctor_json(exit_code=1)
    assert report["ok"] is False
    assert checks(report)["integrity"] is False
    result = doctor()
    assert result.exit_code == 1
    assert "integrity" in result.stdout


def _blob(value: str) -> Path:
    _, data = get_registry().dumps(value, what="test")
    digest = hashlib.sha256(data).hexdigest()
    return load_settings().home / "artifacts" / "blobs" / digest[:2] / digest


def test_doctor_blobs_names_missing_and_corrupted_blobs() -> None:
    size = load_settings().inline_limit + 10
    filler(1, big=size)
    filler(2, big=size + 1)
    corrupted, missing = _blob("b" * size), _blob("b" * (size + 1))
    corrupted.write_bytes(b"tampered" + corrupted.read_bytes()[8:])
    missing.unlink()
    assert checks(doctor_json(exit_code=0)) == {
        "connection": True,
        "integrity": True,
        "schema": True,
    }  # blob hashes only on request
    report = doctor_json("--blobs", exit_code=1)
    [blobs] = [c for c in report["checks"] if c["check"] == "blobs"]
    assert blobs["ok"] is False
    assert f"corrupted: {corrupted.name}" in blobs["detail"]
    assert f"missing: {missing.name}" in blobs["detail"]


def test_doctor_reports_a_schema_revision_it_does_not_know(kitaru_home: Path) -> None:
    filler(1)
    _backends.close_all()
    engine = sa.create_engine(f"sqlite:///{kitaru_home / 'kitaru.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    report = doctor_json(exit_code=1)
    schema = next(c for c in report["checks"] if c["check"] == "schema")
    assert schema["ok"] is False
    assert "9999" in schema["detail"] and HEAD_REVISION in schema["detail"]


def test_doctor_on_a_store_that_does_not_exist_yet_creates_nothing(kitaru_home: Path) -> None:
    report = doctor_json(exit_code=0)
    assert report["ok"] is True
    assert not (kitaru_home / "kitaru.db").exists()
