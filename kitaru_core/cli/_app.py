"""The root ``kitaru`` app: command modules, plugin commands, and one-line errors.

Adding a command
----------------
Every module named in ``COMMAND_MODULES`` is imported in order, and its ``register(app)`` (if it
has one) is called with the root app. A module that owns a group creates the group's Typer and
attaches it there (``_executions.py`` has ``executions_app``; ``_artifacts.py`` has
``artifacts_app``). To add a command to an existing group, write a new module that decorates a
function with the group's Typer and needs no ``register``::

    # kitaru_core/cli/_waits.py
    from kitaru_core.cli._executions import executions_app

    @executions_app.command("waits")
    def list_waits(exec_id: str, as_json: JsonFlag = False) -> None: ...

then add ``"_waits"`` to ``COMMAND_MODULES``. A new group (``stack``, ``model``) is a module with
its own Typer and a ``register`` that calls ``app.add_typer``. Plugins add commands through the
``register_commands(cli)`` hook, which receives the root app.

Rules for commands: take ``--json`` (``JsonFlag``) and print only JSON on stdout with it; import
the client and runtime inside the function body so ``kitaru --help`` stays fast; raise
``KitaruError`` for anything the user can fix -- it becomes one red ``Error:`` line on stderr and
exit code 1.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kitaru_core.cli._help import hide_flag_types
from kitaru_core.cli._output import print_error, print_warning
from kitaru_core.errors import KitaruError
from kitaru_core.plugins import get_plugin_manager

COMMAND_MODULES: tuple[str, ...] = (
    "kitaru_core.cli._executions",
    "kitaru_core.cli._waits",
    "kitaru_core.cli._replay",
    "kitaru_core.cli._artifacts",
    "kitaru_core.cli._plugins",
    "kitaru_core.cli._status",
    "kitaru_core.cli._models",
    "kitaru_core.cli._doctor",
    "kitaru_core.cli._stacks",
    "kitaru_core.cli._worker",
    "kitaru_core.cli._schedule",
    "kitaru_core.cli._server",
    "kitaru_core.cli._deployments",
)

HELP = (
    "Durable execution for Python agents: inspect executions, resume or retry them, "
    "read artifacts.\n\n"
    "Commands use the active stack (KITARU_STACK, KITARU_STORE_URL, or the config file "
    "under KITARU_HOME). Every command takes --json."
)


class KitaruGroup(TyperGroup):
    """Root group: a KitaruError from any command becomes one red line and exit code 1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hide_flag_types(self)  # every command is built by now: flags get no `<bool>` in --help

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KitaruError as exc:
            print_error(str(exc))
            raise typer.Exit(1) from None


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"kitaru {version('kitaru')}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Durable execution for Python agents."""


def create_app() -> typer.Typer:
    """The root app with every built-in command module and every plugin's commands."""
    app = typer.Typer(
        name="kitaru",
        cls=KitaruGroup,
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
    )
    app.callback()(_root)
    for path in COMMAND_MODULES:
        module = importlib.import_module(path)
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    load_plugin_commands(app)
    return app


def load_plugin_commands(app: typer.Typer) -> None:
    """Call every ``register_commands`` hook; a failing plugin is a warning, not a broken CLI."""
    try:
        hook = get_plugin_manager().hook.register_commands
    except Exception as exc:
        print_warning(f"Plugins could not be loaded, so their commands are missing: {exc}")
        return
    for impl in hook.get_hookimpls():
        try:
            impl.function(*[{"cli": app}[name] for name in impl.argnames])
        except Exception as exc:
            print_warning(f"Plugin {impl.plugin_name!r} could not add its commands: {exc!r}")


app = create_app()


def main() -> None:
    """Console-script entry point of ``kitaru``."""
    app(prog_name="kitaru")
