"""The ``kitaru`` CLI against a real SQLite store in the per-test KITARU_HOME."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

import kitaru
from kitaru import checkpoint, flow
from kitaru_core import _config
from kitaru_core.cli import app, create_app
from kitaru_core.cli._status import hide_password
from kitaru_core.engine import _context
from kitaru_core.errors import ExecutionCancelled, ExecutionSuspended
from kitaru_core.hookspecs import hookimpl
from kitaru_core.plugins import register_plugin, unregister_plugin

runner = CliRunner()

# What the flows below read and count; reset before every test.
BROKEN = {"fetch": False}
STOP_ON_RETRY = {"fail_first": True}
CALLS: Counter[str] = Counter()


@checkpoint
def plan(topic: str) -> list[str]:
    CALLS["plan"] += 1
    print(f"planning {topic}")
    return [f"{topic} basics", f"{topic} pitfalls"]


@checkpoint
def fetch(topic: str) -> str:
    CALLS["fetch"] += 1
    if BROKEN["fetch"]:
        raise ConnectionError(f"the source for {topic} is down")
    return f"notes on {topic}"


@checkpoint
def draft(outline: list[str], notes: str) -> str:
    CALLS["draft"] += 1
    return f"{notes}: " + "; ".join(outline)


@flow
def writer(topic: str) -> dict[str, Any]:
    outline = plan(topic)
    notes = fetch(topic)
    text = draft(outline, notes)
    kitaru.save("draft", text)
    kitaru.save("raw", text.encode())
    kitaru.save("summary", {"topic": topic, "words": len(text.split())})
    return {"topic": topic, "text": text}


@flow
def approval(amount: int) -> str:
    plan(f"refund {amount}")
    run = _context.current_run()
    assert run is not None
    raise ExecutionSuspended(run.exec_id, "approve")


@flow
def stopper() -> str:
    plan("stopping")
    if STOP_ON_RETRY["fail_first"]:
        raise RuntimeError("first run fails")
    raise ExecutionCancelled("stopped by the flow")


@pytest.fixture(autouse=True)
def _reset_flow_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("COLUMNS", raising=False)
    BROKEN["fetch"] = False
    STOP_ON_RETRY["fail_first"] = True
    CALLS.clear()
    yield
    BROKEN["fetch"] = False


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def cli_json(*args: str, exit_code: int = 0) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def failed_writer(topic: str = "rust") -> str:
    BROKEN["fetch"] = True
    handle = writer.run(topic)
    assert handle.status == "failed"
    BROKEN["fetch"] = False
    return str(handle.exec_id)


def completed_writer(topic: str = "python") -> str:
    return str(writer.run(topic).exec_id)


def assert_one_error_line(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output


# help and entry points ------------------------------------------------------------------------


def test_help_lists_every_group_without_loading_the_runtime(subprocess_env: dict[str, str]) -> None:
    code = (
        "import sys\n"
        "from kitaru_core.cli import main\n"
        "sys.argv = ['kitaru', '--help']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "heavy = [m for m in ('sqlalchemy', 'kitaru_core.client', 'kitaru_core.engine._runner')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("executions", "artifacts", "plugins", "status"):
        assert command in proc.stdout
    assert "HEAVY []" in proc.stdout


def test_python_dash_m_reports_unknown_id_in_one_line(subprocess_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", "executions", "get", "kr-doesnotexist"],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "Error: No execution with id 'kr-doesnotexist' in this store. "
        "Check the id with `kitaru executions list`."
    ]


def test_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"kitaru {kitaru.__version__}"


# executions list / get / logs -----------------------------------------------------------------


def test_list_empty_store() -> None:
    result = cli("executions", "list")
    assert result.exit_code == 0
    assert "No executions." in result.stdout
    assert cli_json("executions", "list") == []


def test_list_shows_newest_first_with_filters() -> None:
    done = completed_writer()
    failed = failed_writer()

    result = cli("executions", "list")
    assert result.exit_code == 0, result.output
    assert done in result.stdout and failed in result.stdout
    assert result.stdout.index(failed) < result.stdout.index(done)
    assert "completed" in result.stdout and "failed" in result.stdout

    rows = cli_json("executions", "list")
    assert [row["exec_id"] for row in rows] == [failed, done]
    assert rows[0]["status"] == "failed" and rows[0]["flow_name"] == "writer"
    assert [row["exec_id"] for row in cli_json("executions", "list", "--status", "completed")] == [
        done
    ]
    assert [row["exec_id"] for row in cli_json("executions", "list", "--limit", "1")] == [failed]
    assert cli_json("executions", "list", "--flow", "approval") == []


def test_list_rejects_an_unknown_status() -> None:
    result = cli("executions", "list", "--status", "finished")
    assert result.exit_code == 2
    assert "finished" in result.output


def test_get_shows_status_error_and_operations() -> None:
    failed = failed_writer()
    result = cli("executions", "get", failed)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert failed in out
    assert "failed" in out
    assert "ConnectionError: the source for rust is down" in out
    assert "Operations" in out
    for name in ("plan", "fetch"):
        assert name in out
    assert "tokens" in out and "spent" in out and "saved" in out

    data = cli_json("executions", "get", failed)
    assert data["status"] == "failed"
    assert data["error"]["type"] == "builtins.ConnectionError"
    assert data["run_count"] == 1
    assert data["original_exec_id"] is None
    assert data["result"] is None
    assert [(op["name"], op["status"]) for op in data["operations"]] == [
        ("plan", "completed"),
        ("fetch", "failed"),
    ]
    assert {"tokens_in", "tokens_out", "cost_spent", "cost_saved"} <= set(data)


def test_get_completed_includes_the_result() -> None:
    done = completed_writer("go")
    data = cli_json("executions", "get", done)
    assert data["status"] == "completed"
    assert data["result"] == {"topic": "go", "text": "notes on go: go basics; go pitfalls"}
    assert "notes on go" in cli("executions", "get", done).stdout


def test_logs_prints_captured_lines() -> None:
    done = completed_writer("zig")
    result = cli("executions", "logs", done)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["planning zig"]

    stamped = cli("executions", "logs", done, "--timestamps").stdout.strip()
    assert stamped.endswith(" planning zig") and stamped[:4].isdigit()

    lines = cli_json("executions", "logs", done)
    assert [(line["stream"], line["line"]) for line in lines] == [("stdout", "planning zig")]
    assert lines[0]["op_id"].startswith("plan:")


@pytest.mark.parametrize(
    "command", ["get", "logs", "resume", "retry", "cancel"], ids=lambda c: f"executions-{c}"
)
@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_unknown_execution_id_is_one_error_line(command: str, as_json: bool) -> None:
    args = ["executions", command, "kr-missing"] + (["--json"] if as_json else [])
    assert_one_error_line(cli(*args), "kr-missing")


# resume / retry / cancel ----------------------------------------------------------------------


def test_retry_after_fixing_the_cause_reruns_only_the_failed_checkpoint() -> None:
    failed = failed_writer("rust")
    assert CALLS == {"plan": 1, "fetch": 1}

    result = cli("executions", "retry", failed)
    assert result.exit_code == 0, result.output
    assert f"Execution {failed} completed" in result.stdout
    assert "1 reused" in result.stdout
    assert "notes on rust" in result.stdout
    assert CALLS == {"plan": 1, "fetch": 2, "draft": 1}

    data = cli_json("executions", "get", failed)
    assert data["status"] == "completed"
    assert data["run_count"] == 2
    ops = {op["name"]: op for op in data["operations"]}
    assert ops["plan"]["reused"] is True and ops["plan"]["attempts"] == 0
    assert ops["fetch"]["reused"] is False and ops["fetch"]["attempts"] == 2
    assert ops["draft"]["reused"] is False


def test_retry_json_keeps_flow_output_off_stdout() -> None:
    failed = failed_writer("ocaml")
    data = cli_json("executions", "retry", failed)
    assert data["status"] == "completed"
    assert data["result"]["topic"] == "ocaml"
    assert data["message"] is None


def test_retry_that_fails_again_exits_1() -> None:
    failed = failed_writer("c")
    BROKEN["fetch"] = True
    result = cli("executions", "retry", failed)
    assert result.exit_code == 1
    assert f"Execution {failed} failed" in result.stdout
    assert "ConnectionError: the source for c is down" in result.stderr
    assert "Traceback" not in result.output

    data = cli_json("executions", "retry", failed, exit_code=1)
    assert data["status"] == "failed" and data["run_count"] == 3


def test_retry_of_a_completed_execution_is_an_error() -> None:
    done = completed_writer()
    assert_one_error_line(cli("executions", "retry", done), done, "already completed")


def test_resume_of_a_waiting_execution_exits_3_with_the_answer_command() -> None:
    handle = approval.run(40)
    assert handle.status == "waiting"

    result = cli("executions", "resume", handle.exec_id)
    assert result.exit_code == 3, result.output
    assert "waiting" in result.stdout
    assert f"kitaru executions input {handle.exec_id} --wait approve" in result.stdout
    assert CALLS["plan"] == 1  # reused on resume

    data = cli_json("executions", "resume", handle.exec_id, exit_code=3)
    assert data["status"] == "waiting"
    assert "kitaru executions input" in data["message"]


def test_retry_ending_cancelled_exits_4() -> None:
    handle = stopper.run()
    assert handle.status == "failed"
    STOP_ON_RETRY["fail_first"] = False
    result = cli("executions", "retry", handle.exec_id)
    assert result.exit_code == 4, result.output
    assert "cancelled" in result.stdout


def test_cancel_waiting_execution() -> None:
    handle = approval.run(10)
    result = cli("executions", "cancel", handle.exec_id)
    assert result.exit_code == 0, result.output
    assert f"Execution {handle.exec_id} cancelled" in result.stdout
    assert cli_json("executions", "get", handle.exec_id)["status"] == "cancelled"

    again = cli("executions", "cancel", handle.exec_id)
    assert_one_error_line(again, handle.exec_id, "already cancelled")
    assert_one_error_line(cli("executions", "resume", handle.exec_id), "cancelled")


def test_cancel_json() -> None:
    handle = approval.run(11)
    data = cli_json("executions", "cancel", handle.exec_id)
    assert data["exec_id"] == handle.exec_id and data["status"] == "cancelled"


# artifacts ------------------------------------------------------------------------------------


def test_artifacts_list_and_filters() -> None:
    first = completed_writer("a")
    second = completed_writer("b")

    result = cli("artifacts", "list")
    assert result.exit_code == 0, result.output
    for name in ("draft", "raw", "summary"):
        assert name in result.stdout
    assert first in result.stdout and second in result.stdout

    mine = cli_json("artifacts", "list", "--exec", first)
    assert {a["name"] for a in mine} == {"draft", "raw", "summary"}
    assert {a["exec_id"] for a in mine} == {first}
    named = cli_json("artifacts", "list", "--name", "summary")
    assert [a["exec_id"] for a in named] == [second, first]
    assert cli_json("artifacts", "list", "--name", "nothing") == []
    assert "No artifacts." in cli("artifacts", "list", "--name", "nothing").stdout
    assert_one_error_line(cli("artifacts", "list", "--exec", "kr-missing"), "kr-missing")


def _artifact_id(exec_id: str, name: str) -> str:
    return str(cli_json("artifacts", "list", "--exec", exec_id, "--name", name)[0]["artifact_id"])


def test_artifacts_get_prints_values(tmp_path: Path) -> None:
    done = completed_writer("lua")
    summary, text, raw = (_artifact_id(done, n) for n in ("summary", "draft", "raw"))

    shown = cli("artifacts", "get", summary)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {"topic": "lua", "words": 7}
    assert cli_json("artifacts", "get", summary)["value"] == {"topic": "lua", "words": 7}

    assert cli("artifacts", "get", text).stdout == "notes on lua: lua basics; lua pitfalls\n"

    data = cli_json("artifacts", "get", raw)
    assert data["value_is_repr"] is True
    assert data["value"] == repr(b"notes on lua: lua basics; lua pitfalls")


def test_artifacts_get_output_writes_a_file(tmp_path: Path) -> None:
    done = completed_writer("elm")
    raw, summary = _artifact_id(done, "raw"), _artifact_id(done, "summary")

    target = tmp_path / "raw.bin"
    result = cli("artifacts", "get", raw, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == b"notes on elm: elm basics; elm pitfalls"
    assert "Wrote 38 bytes" in result.stdout

    target = tmp_path / "summary.json"
    data = cli_json("artifacts", "get", summary, "-o", str(target))
    assert data["output"] == str(target)
    assert json.loads(target.read_text()) == {"topic": "elm", "words": 7}


def test_artifacts_get_unknown_id() -> None:
    assert_one_error_line(cli("artifacts", "get", "ka-missing"), "ka-missing")


# plugins --------------------------------------------------------------------------------------


ADAPTERS = (("pydantic_ai", "pydantic_ai", "pydantic-ai"), ("litellm", "litellm", "litellm"))


def test_plugins_lists_builtins_and_adapter_install_hints() -> None:
    result = cli("plugins")
    assert result.exit_code == 0, result.output
    assert "builtin_serializers" in result.stdout and "register_serializers" in result.stdout
    assert "builtin_stores" in result.stdout and "resolve_store" in result.stdout

    by_name = {p["name"]: p for p in cli_json("plugins")}
    assert by_name["builtin_stores"]["source"] == "builtin"
    for name, package, extra in ADAPTERS:
        hint = f"pip install 'kitaru[{extra}]'"
        if importlib.util.find_spec(package) is None:
            assert hint in result.stdout
            assert by_name[name]["missing"] == [package]
            assert by_name[name]["install_hint"] == hint
        else:
            assert hint not in result.stdout
            assert by_name[name]["install_hint"] is None


class _HelloCommands:
    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        @cli.command("hello")
        def hello(name: str = "world") -> None:
            """Say hello (added by a test plugin)."""
            typer.echo(f"hello {name}")


class _BrokenCommands:
    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        raise RuntimeError("no commands today")


def test_register_commands_hook_adds_a_command() -> None:
    register_plugin(_HelloCommands(), name="test-hello")
    try:
        extended = create_app()
        result = runner.invoke(extended, ["hello", "--name", "kitaru"])
        assert result.exit_code == 0, result.output
        assert result.stdout == "hello kitaru\n"
        assert "hello" in runner.invoke(extended, ["--help"]).stdout
    finally:
        unregister_plugin("test-hello")


def test_a_broken_plugin_command_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    register_plugin(_BrokenCommands(), name="test-broken")
    try:
        still_works = create_app()
    finally:
        unregister_plugin("test-broken")
    assert "Warning: Plugin 'test-broken' could not add its commands" in capsys.readouterr().err
    assert runner.invoke(still_works, ["executions", "list"]).exit_code == 0


# status ---------------------------------------------------------------------------------------


def test_status_shows_stack_and_counts(kitaru_home: Path) -> None:
    completed_writer()
    completed_writer("more")
    failed_writer()

    data = cli_json("status")
    assert data["stack"] == "default"
    assert data["kitaru_home"] == str(kitaru_home)
    assert data["store_url"] == f"sqlite:///{kitaru_home / 'kitaru.db'}"
    assert data["artifact_url"] == str(kitaru_home / "artifacts")
    assert data["durability"] == "process"
    assert data["executions"] == {
        "queued": 0,
        "running": 0,
        "waiting": 0,
        "completed": 2,
        "failed": 1,
        "cancelled": 0,
    }

    result = cli("status")
    assert result.exit_code == 0, result.output
    assert str(kitaru_home) in result.stdout
    assert "3 total, 2 completed, 1 failed" in result.stdout


def test_status_shows_lease_and_log_flush_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_LEASE_SECONDS", "30")
    monkeypatch.setenv("KITARU_LOG_FLUSH_SECONDS", "2.5")
    _config.reset()
    data = cli_json("status")
    assert (data["lease_seconds"], data["log_flush_seconds"]) == (30.0, 2.5)
    result = cli("status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split() == ["lease", "30", "s"] for line in lines), result.stdout
    assert any(line.split() == ["log", "flush", "2.5", "s"] for line in lines), result.stdout


def test_status_hides_the_store_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITARU_STORE_URL", "postgresql+psycopg://kitaru:hunter2@127.0.0.1:1/nope")
    _config.reset()
    result = cli("status")
    assert result.exit_code == 1  # the store cannot be reached; settings are still shown
    assert "hunter2" not in result.output
    assert "postgresql+psycopg://kitaru:***@127.0.0.1:1/nope" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1

    data = cli_json("status", exit_code=1)
    assert data["store_url"] == "postgresql+psycopg://kitaru:***@127.0.0.1:1/nope"
    assert data["executions"] is None and "store_error" in data


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:////tmp/k/kitaru.db", "sqlite:////tmp/k/kitaru.db"),
        ("postgresql+psycopg://u:p%40ss@db:5432/k", "postgresql+psycopg://u:***@db:5432/k"),
        ("postgresql://u@db/k", "postgresql://u@db/k"),
        ("https://kitaru.example/?token=abc&page=2", "https://kitaru.example/?token=***&page=2"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
    ],
)
def test_hide_password(url: str, shown: str) -> None:
    assert hide_password(url) == shown
