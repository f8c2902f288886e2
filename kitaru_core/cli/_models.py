"""``kitaru model register|list``: model aliases for ``kitaru.llm(model=ALIAS)``.

Aliases live in the ``[models]`` table of the config file under ``KITARU_HOME``;
``kitaru.configure(models=...)`` adds more for one process. API keys are never stored here:
providers read them from the environment (``OPENAI_API_KEY``, ...).
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

from kitaru_core._config import (
    config_path,
    load_settings,
    read_config_file,
    reset,
    write_config_file,
)
from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, plain, print_json, table
from kitaru_core.errors import ConfigurationError

ALIAS = re.compile(r"^[A-Za-z0-9_.-]+$")

models_app = typer.Typer(
    name="model",
    help="Model aliases for kitaru.llm(): register a name for a LiteLLM model, list them.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach the ``model`` group to the root app."""
    app.add_typer(models_app, name="model")


@models_app.command("register")
def register_model(
    alias: Annotated[str, typer.Argument(help="Short name, e.g. fast (or default).")],
    model: Annotated[str, typer.Argument(help="LiteLLM model name, e.g. openai/gpt-4o-mini.")],
    as_json: JsonFlag = False,
) -> None:
    """Make ALIAS stand for MODEL in kitaru.llm(model=ALIAS); 'default' is used without model=."""
    if not ALIAS.match(alias):
        raise ConfigurationError(
            f"Model alias {alias!r} may only use letters, digits, '_', '-' and '.'; "
            "pick a short name such as 'fast'."
        )
    if not model.strip():
        raise ConfigurationError("The model name is empty; pass one like openai/gpt-4o-mini.")
    data = read_config_file()
    models = dict(data.get("models") or {})
    previous = models.get(alias)
    models[alias] = model
    data["models"] = models
    write_config_file(data)
    reset()
    if as_json:
        print_json({"alias": alias, "model": model, "previous": previous})
        return
    was = f" (was {previous})" if previous and previous != model else ""
    console().print(f"{alias} → {model}{was}, saved in {config_path()}")


@models_app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """Every model alias from the config file."""
    models = load_settings().models
    if as_json:
        print_json(models)
        return
    if not models:
        console().print("No model aliases. Add one: kitaru model register fast openai/gpt-4o-mini")
        return
    rows = table("ALIAS", "MODEL")
    for alias, model in sorted(models.items()):
        rows.add_row(plain(alias), plain(model))
    console().print(rows)
