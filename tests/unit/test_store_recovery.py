"""A store damaged or out of reach: what is recovered, and the clear error when it cannot be."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import kitaru
from kitaru import KitaruClient, flow
from kitaru_core import _config
from kitaru_core._config import load_settings
from kitaru_core.errors import ConfigurationError, StoreError, StoreReadOnly
from kitaru_core.store import _backends
from kitaru_core.store._serialization import get_registry

# a corrupted blob is rewritten by the next writer of the same bytes ------------------------------


@flow
def produce(size: int) -> str:
    kitaru.save("big", "s" * size)
    return "p" * size


def _blob_path(value: str) -> Path:
    _, data = get_registry().dumps(value, what="test")
    digest = hashlib.sha256(data).hexdigest()
    return load_settings().home / "artifacts" / "blobs" / digest[:2] / digest


def test_a_corrupted_blob_is_rewritten_when_the_same_bytes_are_stored_again() -> None:
    # Before, a write skipped any existing path: replaying (the advised recovery) or any new
    # execution producing the same bytes pointed at the corrupt blob again.
    size = load_settings().inline_limit + 10
    produce(size)
    saved, result = _blob_path("s" * size), _blob_path("p" * size)
    good = {path: path.read_bytes() for path in (saved, result)}
    for path in (saved, result):
        path.write_bytes(b"tampered" + path.read_bytes()[8:])

    produce(size)
    client = KitaruClient()
    latest = client.executions.latest("produce")
    assert latest.result == "p" * size
    assert client.artifacts.latest(latest.exec_id, "big").load() == "s" * size
    assert {path: path.read_bytes() for path in (saved, result)} == good
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]  # no temporary left


# KITARU_HOME naming a regular file ---------------------------------------------------------------


@flow
def tiny() -> int:
    return 1


def test_kitaru_home_naming_a_file_is_a_configuration_error_in_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: FileExistsError from deep inside the SQL store.
    home = tmp_path / "not-a-folder"
    home.write_text("notes")
    monkeypatch.setenv("KITARU_HOME", str(home))
    _config.reset()
    with pytest.raises(ConfigurationError, match=re.escape(str(home))):
        tiny()
    with pytest.raises(ConfigurationError, match="KITARU_HOME"):
        KitaruClient().executions.list()
    assert home.read_text() == "notes"


def test_kitaru_home_naming_a_file_is_one_red_line_from_the_cli(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    # Before: a 146-line traceback.
    home = tmp_path / "not-a-folder"
    home.write_text("notes")
    proc = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "list"],
        env={**subprocess_env, "KITARU_HOME": str(home), "COLUMNS": "1000"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("Error: KITARU_HOME") and str(home) in line


def test_a_store_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=re.escape(str(blocker))):
        KitaruClient(store_url=f"sqlite:///{blocker / 'kitaru.db'}")


# a store the process cannot write ----------------------------------------------------------------
#
# Tests run as root, which file modes do not stop; the immutable attribute (`chattr +i`) stops
# root too, and is what os.access reports. A file (or folder) without write permission for a
# normal user takes the same path.


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """``paths`` cannot be written, renamed or (for a folder) added to, even by root."""
    done: list[Path] = []
    try:
        for path in paths:
            proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            if proc.returncode:
                pytest.skip(f"chattr +i is not available here: {proc.stderr.strip()}")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("locked", ["file", "file and folder"])
def test_a_store_that_cannot_be_written_can_still_be_listed_and_read(
    kitaru_home: Path, subprocess_env: dict[str, str], locked: str
) -> None:
    # Before: with the folder locked, "unable to open database file" for any command.
    size = load_settings().inline_limit + 10
    produce(size)
    exec_id = KitaruClient().executions.latest("produce").exec_id
    _backends.close_all()  # the last connection folds the WAL back: only kitaru.db remains
    db = kitaru_home / "kitaru.db"
    with immutable(db, *([kitaru_home] if locked == "file and folder" else [])):
        proc = subprocess.run(
            [sys.executable, "-m", "kitaru_core.cli", "executions", "list", "--json"],
            env={**subprocess_env, "COLUMNS": "1000"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert [e["exec_id"] for e in json.loads(proc.stdout)] == [exec_id]

        _config.reset()
        client = KitaruClient()
        assert client.store.read_only
        execution = client.executions.get(exec_id)
        assert execution.status == "completed"
        assert execution.result == "p" * size
        with pytest.raises(StoreReadOnly, match=re.escape(str(db))):
            produce(3)
        _backends.close_all()
    assert KitaruClient().executions.list() != []  # writable again once unlocked
