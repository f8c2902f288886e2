"""Large values: operation inputs go to the blob store like outputs, and ``executions get
--json`` shows previews unless ``--full`` is asked for (issue 7, section 5)."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.cli import app
from kitaru_core.engine._fingerprint import canonical_json

BIG = 2_000_000
RUNS: list[str] = []
FAIL_TRANSLATE = {"on": False}


def document(size: int) -> str:
    """Text that neither SQLite nor anything else could shrink by accident."""
    rng = random.Random(size)
    return "".join(rng.choices(string.ascii_letters, k=size))


@checkpoint
def summarize(doc: str, style: str) -> str:
    RUNS.append("summarize")
    return f"{style}:{len(doc)}"


@checkpoint
def count_words(text: str) -> int:
    RUNS.append("count_words")
    return len(text) // 5


@checkpoint
def translate(source: str, lang: str, words: int) -> str:
    RUNS.append("translate")
    if FAIL_TRANSLATE["on"]:
        raise ConnectionError("translator down")
    return f"{lang}:{len(source)}:{words}"


@flow
def digest(size: int) -> list[Any]:
    doc = document(size)
    words = count_words(doc)
    return [summarize(doc, "short"), words, translate(doc, "fr", words)]


@flow
def huge_result(size: int) -> str:
    return document(size)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()
    FAIL_TRANSLATE["on"] = False


def blobs(home: Path) -> list[Path]:
    return sorted(path for path in (home / "artifacts").rglob("*") if path.is_file())


def db_bytes(home: Path) -> int:
    return sum(path.stat().st_size for path in home.glob("kitaru.db*"))


def test_large_input_passed_to_three_checkpoints_is_one_blob(kitaru_home: Path) -> None:
    FAIL_TRANSLATE["on"] = True
    handle = digest.run(BIG)
    assert handle.status == "failed"

    assert db_bytes(kitaru_home) < 1_000_000  # was 3 inline copies of the document, 6 MB
    doc_text = canonical_json(document(BIG))
    holding = [path for path in blobs(kitaru_home) if path.read_text() == doc_text]
    assert len(holding) == 1  # the same argument of three checkpoints is stored once

    FAIL_TRANSLATE["on"] = False
    client = KitaruClient()
    resumed = client.executions.resume(handle.exec_id)
    assert resumed.wait() == [f"short:{BIG}", BIG // 5, f"fr:{BIG}:{BIG // 5}"]
    assert RUNS == ["count_words", "summarize", "translate", "translate"]  # the rest reused

    ops = client.executions.get(handle.exec_id).operations
    expected = {
        "count_words": {"text": document(BIG)},
        "summarize": {"doc": document(BIG), "style": "short"},
        "translate": {"lang": "fr", "source": document(BIG), "words": BIG // 5},
    }
    for op in ops:
        assert op.input_text == canonical_json(expected[op.name]), op.name

    replayed = digest.replay(handle.exec_id, from_="translate")
    assert replayed.wait() == [f"short:{BIG}", BIG // 5, f"fr:{BIG}:{BIG // 5}"]
    assert RUNS[-1:] == ["translate"] and len(RUNS) == 5
    for op in client.executions.get(replayed.exec_id).operations:
        assert op.input_text == canonical_json(expected[op.name]), op.name
    assert db_bytes(kitaru_home) < 1_000_000
    assert len([path for path in blobs(kitaru_home) if path.read_text() == doc_text]) == 1


def test_get_json_of_a_large_result_prints_a_preview() -> None:
    handle = huge_result.run(BIG)
    assert handle.status == "completed"
    runner = CliRunner()

    shown = runner.invoke(app, ["executions", "get", handle.exec_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert len(shown.stdout) < 20_000
    data = json.loads(shown.stdout)
    assert data["result_truncated"] is True
    assert data["result_size"] >= BIG
    assert data["result"].startswith(document(BIG)[:500])
    assert f"kitaru executions get {handle.exec_id} --json --full" in data["truncated_hint"]
    assert data["inputs"] == {"size": BIG}

    whole = runner.invoke(app, ["executions", "get", handle.exec_id, "--json", "--full"])
    assert whole.exit_code == 0, whole.output
    data = json.loads(whole.stdout)
    assert data["result"] == document(BIG)
    assert "result_truncated" not in data and "truncated_hint" not in data


def test_get_json_previews_large_operation_inputs_and_outputs() -> None:
    handle = digest.run(200_000)
    runner = CliRunner()
    shown = runner.invoke(app, ["executions", "get", handle.exec_id, "--json"])
    assert shown.exit_code == 0, shown.output
    assert len(shown.stdout) < 20_000
    ops = {op["name"]: op for op in json.loads(shown.stdout)["operations"]}
    assert ops["summarize"]["input_truncated"] is True
    # a preview reads no blob: the large value is outlined, the rest of the inputs shown
    assert ops["summarize"]["input_text"].startswith('{"doc":<200002 characters in blob ')
    assert ops["summarize"]["input_text"].endswith('>,"style":"short"}')
    assert ops["summarize"]["input_size"] == len(canonical_json({"doc": "", "style": "short"})) + (
        200_000
    )
    assert ops["summarize"]["output"] == "short:200000"
    assert "output_truncated" not in ops["summarize"]

    whole = runner.invoke(app, ["executions", "get", handle.exec_id, "--json", "--full"])
    ops = {op["name"]: op for op in json.loads(whole.stdout)["operations"]}
    assert ops["summarize"]["input_text"] == canonical_json(
        {"doc": document(200_000), "style": "short"}
    )
    assert ops["count_words"]["output"] == 40_000


@flow
def digest_given(doc: str, lang: str) -> str:
    return translate(doc, lang, count_words(doc))


def test_large_flow_argument_is_stored_as_a_blob(kitaru_home: Path) -> None:
    FAIL_TRANSLATE["on"] = True
    handle = digest_given.run(document(BIG), "de")
    assert handle.status == "failed"
    assert db_bytes(kitaru_home) < 1_000_000  # the argument was inline in the execution row

    FAIL_TRANSLATE["on"] = False
    client = KitaruClient()
    assert client.executions.get(handle.exec_id).inputs == {"doc": document(BIG), "lang": "de"}
    assert client.executions.resume(handle.exec_id).wait() == f"de:{BIG}:{BIG // 5}"
    replayed = digest_given.replay(handle.exec_id, from_="translate", lang="it")
    assert replayed.wait() == f"it:{BIG}:{BIG // 5}"
    assert RUNS == ["count_words", "translate", "translate", "translate"]
    assert db_bytes(kitaru_home) < 1_000_000
