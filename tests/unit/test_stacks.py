"""Stacks: the Python API, the ``kitaru stack`` commands, their refusals, and which stack a run
uses (invocation > decorator > configure() > KITARU_STACK > config file)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core import _config
from kitaru_core._stacks import expand_env, hide_password
from kitaru_core.cli import app
from kitaru_core.errors import ConfigurationError, KitaruError, StackUnavailable

runner = CliRunner()
CALLS: Counter[str] = Counter()


@checkpoint
def double(x: int) -> int:
    CALLS["double"] += 1
    return 2 * x


@flow
def plain_flow(x: int) -> int:
    return double(x)


@flow(stack="deco")
def decorated_flow(x: int) -> int:
    return double(x)


@flow
def flow_with_stack_param(x: int, stack: str = "none") -> str:
    return f"{stack}:{double(x)}"


@flow
async def async_flow(x: int) -> int:
    return double(x)


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sqlite_stack(name: str, tmp_path: Path, **options: Any) -> kitaru.Stack:
    return kitaru.create_stack(
        name,
        store=f"sqlite:///{tmp_path / name / 'store.db'}",
        artifacts=str(tmp_path / name / "artifacts"),
        **options,
    )


def executions_on(stack: str) -> list[str]:
    return [e.exec_id for e in KitaruClient(stack).executions.list()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# the CLI ------------------------------------------------------------------------------------


def test_stack_commands_create_list_use_show_current_delete(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'team.db'}"
    created = ok_json("stack", "create", "team", "--store", store, "--artifacts", str(tmp_path))
    assert created == {
        "name": "team",
        "store": store,
        "artifacts": str(tmp_path),
        "runner": "local",
        "active": False,
    }
    listed = ok_json("stack", "list")
    assert [(s["name"], s["active"]) for s in listed] == [("default", True), ("team", False)]
    assert ok_json("stack", "current")["source"] == "default"

    assert ok_json("stack", "use", "team")["active"] is True
    current = ok_json("stack", "current")
    assert (current["name"], current["source"]) == ("team", "configure")
    assert kitaru.current_stack().name == "team"  # at once, in this process
    _config.reset()  # a new process: read from the config file
    assert ok_json("stack", "current")["source"] == "config file"
    assert ok_json("stack", "show")["store"] == store
    assert "team" in cli("stack", "list").stdout

    refused = cli("stack", "delete", "team")
    assert refused.exit_code == 1
    assert "active stack" in refused.output and "kitaru stack use default" in refused.output
    ok_json("stack", "use", "default")
    assert ok_json("stack", "delete", "team")["deleted"] is True
    assert [s["name"] for s in ok_json("stack", "list")] == ["default"]
    assert (tmp_path / "team.db").exists()  # deleting a stack leaves its data alone


def test_stack_create_with_workers_runner_is_kept(tmp_path: Path) -> None:
    created = ok_json(
        "stack", "create", "queue", "--store", f"sqlite:///{tmp_path / 'q.db'}", "--runner",
        "workers",
    )  # fmt: skip
    assert created["runner"] == "workers"
    [stack] = [s for s in kitaru.list_stacks() if s.name == "queue"]
    assert stack.runner == "workers"
    config = tomllib.loads((_config.config_path()).read_text())
    assert config["stacks"]["queue"]["runner"] == "workers"


@pytest.mark.parametrize(
    ("store", "found"),
    [
        ("postgresql+psycopg://app:hunter2@db/kitaru", "password in its user part"),
        ("postgresql+psycopg://app@db/kitaru?password=hunter2", "query value password="),
    ],
)
def test_stack_create_refuses_a_password_in_clear_and_says_how_to_reference_one(
    store: str, found: str
) -> None:
    result = cli("stack", "create", "prod", "--store", store)
    assert result.exit_code == 1
    assert found in result.output and "${" in result.output and "environment" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output
    assert not _config.config_path().exists()


def test_stack_create_refuses_a_secret_in_the_artifact_url(tmp_path: Path) -> None:
    result = cli(
        "stack", "create", "prod", "--store", f"sqlite:///{tmp_path / 's.db'}",
        "--artifacts", "s3://bucket/runs?secret=abc123",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "query value secret=" in result.output and "abc123" not in result.output


def test_stack_create_refusals_name_what_is_wrong(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    cases = {
        ("default",): "built in",
        ("bad name!",): "not allowed",
        ("x", "--runner", "Kubernetes Jobs"): "not a runner name",
    }
    for extra, message in cases.items():
        result = cli("stack", "create", extra[0], "--store", store, *extra[1:])
        assert result.exit_code == 1, extra
        assert message in result.output, result.output
    ok_json("stack", "create", "dup", "--store", store)
    again = cli("stack", "create", "dup", "--store", store)
    assert again.exit_code == 1 and "already exists" in again.output


def test_stack_use_and_show_of_an_unknown_stack_list_the_known_ones() -> None:
    for command in (("use", "nope"), ("show", "nope"), ("delete", "nope")):
        result = cli("stack", *command)
        assert result.exit_code == 1
        assert "Unknown stack 'nope'" in result.output and "default" in result.output


def test_the_default_stack_cannot_be_deleted() -> None:
    result = cli("stack", "delete", "default")
    assert result.exit_code == 1 and "built in" in result.output


# An unreachable PostgreSQL server is the unreachable store these tests use: reaching for it
# needs the driver, which a bare install lacks (the `tests` session has it and skips nothing).
needs_psycopg = pytest.mark.skipif(
    importlib.util.find_spec("psycopg") is None, reason="needs psycopg (kitaru[postgres])"
)


@needs_psycopg
def test_stack_create_refuses_an_unreachable_store_naming_it_and_why() -> None:
    port = closed_port()
    store = f"postgresql+psycopg://kitaru@127.0.0.1:{port}/kitaru"
    result = cli("stack", "create", "prod", "--store", store)
    assert result.exit_code == 1
    assert "Stack 'prod' cannot be used: its store" in result.output
    assert f"127.0.0.1:{port}" in result.output and "cannot be reached" in result.output
    assert not _config.config_path().exists()
    # --no-check keeps it (the database may come later); `use` then refuses it
    ok_json("stack", "create", "prod", "--store", store, "--no-check")
    refused = cli("stack", "use", "prod")
    assert refused.exit_code == 1 and "its store" in refused.output
    assert kitaru.current_stack().name == "default"


def test_stack_create_refuses_artifacts_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli(
        "stack", "create", "prod", "--store", f"sqlite:///{tmp_path / 's.db'}",
        "--artifacts", str(blocker / "artifacts"),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "its artifact store" in result.output and "cannot be created" in result.output


def test_kitaru_stack_use_warns_when_kitaru_stack_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite_stack("a", tmp_path)
    sqlite_stack("b", tmp_path)
    monkeypatch.setenv("KITARU_STACK", "b")
    result = cli("stack", "use", "a")
    assert result.exit_code == 0
    assert "KITARU_STACK=b" in result.output


# references to environment variables ----------------------------------------------------------


def test_a_url_references_a_variable_that_is_read_at_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_DIR", str(tmp_path / "first"))
    kitaru.create_stack(
        "team", store="sqlite:///${TEAM_DIR}/store.db", artifacts="${TEAM_DIR}/artifacts"
    )
    text = _config.config_path().read_text()
    assert "${TEAM_DIR}" in text and str(tmp_path / "first") not in text
    assert plain_flow.run(2, stack="team").wait() == 4
    assert (tmp_path / "first" / "store.db").exists()

    monkeypatch.delenv("TEAM_DIR")
    with pytest.raises(ConfigurationError, match=r"\$\{TEAM_DIR\}, which is not set"):
        KitaruClient("team")


def test_a_referenced_password_is_url_quoted_and_shown_as_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PW", "p@ss/w:rd")
    url = "postgresql+psycopg://app:${DB_PW}@db:5432/kitaru?sslmode=require"
    assert (
        expand_env(url) == "postgresql+psycopg://app:p%40ss%2Fw%3Ard@db:5432/kitaru?sslmode=require"
    )
    assert hide_password(url) == url  # a reference is no secret
    assert (
        hide_password(expand_env(url))
        == "postgresql+psycopg://app:***@db:5432/kitaru?sslmode=require"
    )
    monkeypatch.setenv("WHOLE", "sqlite:////tmp/x.db")
    assert expand_env("${WHOLE}") == "sqlite:////tmp/x.db"


# which stack a run uses -----------------------------------------------------------------------


def test_stack_precedence_invocation_decorator_configure_environment_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("call", "deco", "conf", "env", "file"):
        sqlite_stack(name, tmp_path)
    kitaru.use_stack("file")
    monkeypatch.setenv("KITARU_STACK", "env")
    kitaru.configure(stack="conf")

    decorated_flow.run(1, stack="call").wait()
    assert len(executions_on("call")) == 1
    decorated_flow.run(1).wait()
    assert len(executions_on("deco")) == 1
    plain_flow.run(1).wait()
    assert len(executions_on("conf")) == 1
    kitaru.configure(stack=None)
    plain_flow.run(1).wait()
    assert len(executions_on("env")) == 1
    monkeypatch.delenv("KITARU_STACK")
    _config.reset()
    plain_flow.run(1).wait()
    assert len(executions_on("file")) == 1
    assert executions_on("default") == []


def test_use_stack_writes_the_file_and_takes_effect_at_once(tmp_path: Path) -> None:
    sqlite_stack("team", tmp_path)
    assert kitaru.use_stack("team").name == "team"
    assert tomllib.loads(_config.config_path().read_text())["active_stack"] == "team"
    assert kitaru.current_stack().name == "team"
    assert plain_flow(3) == 6
    assert len(executions_on("team")) == 1


def test_run_options_keyword_and_options_run_and_a_flow_parameter_of_that_name(
    tmp_path: Path,
) -> None:
    sqlite_stack("other", tmp_path)
    assert plain_flow.run(1, stack="other").wait() == 2
    assert plain_flow.options(stack="other").run(2).wait() == 4
    assert plain_flow.options(stack="other")(3) == 6
    assert len(executions_on("other")) == 3
    # The flow's own `stack` parameter gets the keyword; options() sets the run's stack.
    assert flow_with_stack_param.run(1, stack="mine").wait() == "mine:2"
    assert len(executions_on("default")) == 1
    assert flow_with_stack_param.options(stack="other").run(2, stack="mine").wait() == "mine:4"
    assert len(executions_on("other")) == 4


def test_async_flows_take_the_stack_option(tmp_path: Path) -> None:
    sqlite_stack("other", tmp_path)

    async def main() -> int:
        handle = await async_flow.run(5, stack="other")
        value: int = await async_flow.options(stack="other")(6)
        return int(handle.wait()) + value

    assert asyncio.run(main()) == 22
    assert len(executions_on("other")) == 2


def test_options_refuses_what_is_no_run_option() -> None:
    with pytest.raises(KitaruError, match=r"stak is not a run option of flow 'plain_flow'"):
        plain_flow.options(stak="prod")


@needs_psycopg
def test_an_unreachable_stack_is_refused_before_anything_runs(tmp_path: Path) -> None:
    CALLS.clear()
    port = closed_port()
    kitaru.create_stack(
        "down", store=f"postgresql+psycopg://kitaru@127.0.0.1:{port}/kitaru", check=False
    )
    with pytest.raises(StackUnavailable, match="Stack 'down' cannot be used: its store") as caught:
        plain_flow.run(1, stack="down")
    assert caught.value.part == "store"
    blocker = tmp_path / "file"
    blocker.write_text("")
    sqlite_stack("nofolder", tmp_path, check=False)
    kitaru.delete_stack("nofolder")
    kitaru.create_stack(
        "nofolder",
        store=f"sqlite:///{tmp_path / 'nf.db'}",
        artifacts=str(blocker / "sub"),
        check=False,
    )
    with pytest.raises(StackUnavailable, match="its artifact store") as caught:
        plain_flow.run(1, stack="nofolder")
    assert caught.value.part == "artifact store"
    assert CALLS["double"] == 0
    assert executions_on("nofolder") == []


def test_a_keyword_only_a_var_keyword_parameter_would_take_is_a_run_option() -> None:
    import inspect

    from kitaru_core.api._options import RunOptions, split_run_options

    def takes_any(x: int, **extra: Any) -> None: ...

    def own_keyword_only(x: int, *, stack: str) -> None: ...

    def positional_only(stack: str, /) -> None: ...

    given = {"stack": "prod", "y": 1}
    assert split_run_options(inspect.signature(takes_any), given) == (
        RunOptions(stack="prod"),
        {"y": 1},
    )
    assert split_run_options(inspect.signature(own_keyword_only), given) == (RunOptions(), given)
    assert split_run_options(inspect.signature(positional_only), {"stack": "p"}) == (
        RunOptions(stack="p"),
        {},
    )
    assert RunOptions(stack="a").merged(RunOptions()) == RunOptions(stack="a")
    assert RunOptions(stack="a").merged(RunOptions(stack="b")) == RunOptions(stack="b")
