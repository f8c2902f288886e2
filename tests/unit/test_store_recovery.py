"""A store damaged or out of reach: what is recovered, and the clear error when it cannot be."""

from __future__ import annotations

import hashlib
from pathlib import Path

import kitaru
from kitaru import KitaruClient, flow
from kitaru_core._config import load_settings
from kitaru_core._serialization import get_registry

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
