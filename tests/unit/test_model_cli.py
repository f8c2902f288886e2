"""``kitaru model register|list``: aliases in the config file, used by ``kitaru.llm()``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kitaru_core import _config
from kitaru_core.cli import create_app
from kitaru_core.llm._llm import resolve_model

runner = CliRunner()


def test_register_then_list_and_resolve() -> None:
    app = create_app()
    first = runner.invoke(app, ["model", "register", "fast", "openai/gpt-4o-mini"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["model", "register", "fast", "openai/gpt-4.1-nano", "--json"])
    assert json.loads(again.stdout) == {
        "alias": "fast",
        "model": "openai/gpt-4.1-nano",
        "previous": "openai/gpt-4o-mini",
    }
    runner.invoke(app, ["model", "register", "default", "fast"])
    listed = runner.invoke(app, ["model", "list", "--json"])
    assert json.loads(listed.stdout) == {"fast": "openai/gpt-4.1-nano", "default": "fast"}
    assert _config.read_config_file()["models"]["fast"] == "openai/gpt-4.1-nano"
    _config.reset()
    assert resolve_model(None) == "openai/gpt-4.1-nano"
    assert "openai/gpt-4.1-nano" in runner.invoke(app, ["model", "list"]).stdout


def test_a_bad_alias_is_one_clear_error() -> None:
    result = runner.invoke(create_app(), ["model", "register", "my model", "openai/x"])
    assert result.exit_code == 1
    assert "may only use letters" in result.output
    assert "Traceback" not in result.output


def test_list_without_aliases_says_how_to_add_one() -> None:
    result = runner.invoke(create_app(), ["model", "list"])
    assert result.exit_code == 0
    assert "kitaru model register" in result.stdout
