"""``kitaru executions waits|input|abort-wait|replay|lineage`` (issue 3)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.cli import app

runner = CliRunner()
calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    calls.clear()
    yield


@checkpoint
def draft(topic: str) -> str:
    calls["draft"] += 1
    return f"draft about {topic}"


@flow
def publish(topic: str) -> str:
    text = draft(topic)
    approved = kitaru.wait(bool, name="approve", question=f"Approve {text!r}?", timeout=0)
    note = kitaru.wait(str, name="note", question="Any note?", timeout=0)
    return f"{text} / {approved} / {note}"


def cli(*args: str, **kwargs: Any) -> Result:
    return runner.invoke(app, list(args), **kwargs)


def one_error_line(result: Result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_waits_lists_what_is_pending_and_how_to_answer() -> None:
    exec_id = publish.run("owls").exec_id

    result = cli("executions", "waits", exec_id)
    assert result.exit_code == 0, result.output
    assert "approve" in result.stdout and "pending" in result.stdout
    assert "Approve 'draft about owls'?" in result.stdout and "true or false" in result.stdout
    assert f"kitaru executions input {exec_id} --wait NAME --value JSON" in result.stdout

    [data] = json.loads(cli("executions", "waits", exec_id, "--json").stdout)
    assert (data["name"], data["status"], data["schema"]) == (
        "approve",
        "pending",
        {"type": "boolean"},
    )


def test_input_validates_answers_once_and_queues_the_execution() -> None:
    exec_id = publish.run("owls").exec_id

    one_error_line(cli("executions", "input", exec_id, "--value", "sure"), "Nothing was stored")
    one_error_line(cli("executions", "input", exec_id, "--wait", "nope", "--value", "1"), "'nope'")
    ok = cli("executions", "input", exec_id, "--wait", "approve", "--value", "true", "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert (data["status"], data["value"], data["execution_status"]) == ("answered", True, "queued")
    one_error_line(
        cli("executions", "input", exec_id, "--wait", "approve", "--value", "false"),
        "already answered",
    )

    resumed = cli("executions", "resume", exec_id)
    assert resumed.exit_code == 3, resumed.output  # now it waits for the note
    text = cli("executions", "input", exec_id, "--value", "ship it")  # not JSON: a string
    assert text.exit_code == 0, text.output
    assert "answered: ship it" in text.stdout
    assert f"kitaru executions resume {exec_id}" in text.stdout
    done = cli("executions", "resume", exec_id, "--json")
    assert json.loads(done.stdout)["result"] == "draft about owls / True / ship it"
    assert calls["draft"] == 1


def test_input_prompts_on_a_terminal_until_the_answer_is_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exec_id = publish.run("owls").exec_id
    import kitaru_core.cli._waits as waits_cli

    monkeypatch.setattr(waits_cli, "interactive", lambda: True)

    result = cli("executions", "input", exec_id, "--wait", "approve", input="maybe\ntrue\n")

    assert result.exit_code == 0, result.output
    assert "Approve 'draft about owls'?" in result.stderr
    assert "'maybe' is not of type 'boolean'" in result.stderr
    assert KitaruClient().executions.waits(exec_id)[0].value is True


def test_input_without_value_off_a_terminal_is_an_error() -> None:
    exec_id = publish.run("owls").exec_id
    one_error_line(cli("executions", "input", exec_id), "--value")


def test_abort_wait() -> None:
    exec_id = publish.run("owls").exec_id
    result = cli("executions", "abort-wait", exec_id, "--reason", "too late")
    assert result.exit_code == 0, result.output
    assert "aborted" in result.stdout
    failed = cli("executions", "resume", exec_id)
    assert failed.exit_code == 1
    assert "WaitAborted" in failed.stderr and "too late" in failed.stderr


def test_cli_failure_after_an_aborted_wait_points_at_replay_not_retry() -> None:
    exec_id = publish.run("owls").exec_id
    cli("executions", "abort-wait", exec_id, "--wait", "approve")

    failed = cli("executions", "resume", exec_id)

    assert failed.exit_code == 1
    line = " ".join(failed.stderr.split())
    assert "kitaru executions retry" not in line
    assert f"kitaru executions replay {exec_id} --overrides '{{\"wait.approve\": ...}}'" in line


def _answered_publish() -> str:
    exec_id = publish.run("owls").exec_id
    KitaruClient().executions.input(exec_id, True)
    KitaruClient().executions.resume(exec_id)
    KitaruClient().executions.input(exec_id, "fine")
    KitaruClient().executions.resume(exec_id)
    calls.clear()
    return str(exec_id)


def test_replay_with_overrides_and_args_and_lineage() -> None:
    source = _answered_publish()

    result = cli(
        "executions", "replay", source, "--from", "note",
        "--overrides", '{"wait.note": "edited"}', "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    replay = json.loads(result.stdout)
    assert (replay["status"], replay["result"]) == ("completed", "draft about owls / True / edited")
    assert replay["original_exec_id"] == source and replay["replay_from"].startswith("note:")
    assert calls == Counter()

    again = cli("executions", "replay", replay["exec_id"], "--args", '{"topic": "bats"}')
    assert again.exit_code == 3, again.output  # a new topic: a new draft to approve
    assert "waiting" in again.stdout and "kitaru executions input" in again.stdout
    assert calls == Counter({"draft": 1})

    newest = KitaruClient().executions.latest().exec_id
    lineage = cli("executions", "lineage", newest)
    assert lineage.exit_code == 0, lineage.output
    for exec_id in (newest, replay["exec_id"], source):
        assert exec_id in lineage.stdout
    assert "(original)" in lineage.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--from", "nowhere"], "names no operation"),
        (["--overrides", "[1]"], "must be a JSON object"),
        (["--overrides", "{bad"], "is not valid JSON"),
        (["--args", '{"colour": 1}'], "no parameter 'colour'"),
        (["--overrides", '{"wait.approve": "perhaps"}'], "is not of type 'boolean'"),
    ],
)
def test_replay_errors_are_one_line_and_run_nothing(args: list[str], needle: str) -> None:
    source = _answered_publish()
    one_error_line(cli("executions", "replay", source, *args), needle)
    assert len(KitaruClient().executions.list()) == 1


def test_round_trip_through_python_dash_m(subprocess_env: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        textwrap.dedent(
            """
            import kitaru
            from kitaru import checkpoint, flow

            @checkpoint
            def draft(topic: str) -> str:
                return f"draft about {topic}"

            @flow
            def agent(topic: str) -> str:
                ok = kitaru.wait(bool, name="approve", question=draft(topic), timeout=0)
                return "shipped" if ok else "held"

            if __name__ == "__main__":
                print(agent.run("owls").exec_id)
            """
        )
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], env=subprocess_env, capture_output=True, text=True,
            timeout=60, cwd=tmp_path,
        )  # fmt: skip

    started = run(str(script))
    assert started.returncode == 0, started.stderr
    exec_id = started.stdout.strip()
    kitaru_cli = ("-m", "kitaru_core.cli", "executions")
    waits = run(*kitaru_cli, "waits", exec_id, "--json")
    assert json.loads(waits.stdout)[0]["question"] == "draft about owls"
    assert run(*kitaru_cli, "input", exec_id, "--value", "true").returncode == 0
    resumed = run(*kitaru_cli, "resume", exec_id, "--json")
    assert json.loads(resumed.stdout)["result"] == "shipped"
    replayed = run(
        *kitaru_cli, "replay", exec_id, "--overrides", '{"wait.approve": false}', "--json"
    )
    assert json.loads(replayed.stdout)["result"] == "held", replayed.stderr
