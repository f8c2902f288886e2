"""``kitaru stack``: create, list, use, show and delete stacks (store + artifacts + runner)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, plain, print_json, print_warning, table

if TYPE_CHECKING:
    from kitaru_core._config import Stack

stack_app = typer.Typer(
    name="stack",
    help="Stacks: where executions are recorded (store), where large values go (artifacts), "
    "and who runs flows (runner).",
    no_args_is_help=True,
)

NoCheck = Annotated[
    bool,
    typer.Option("--no-check", help="Do not check that the store and artifacts can be reached."),
]


def register(app: typer.Typer) -> None:
    """Add the ``stack`` group to the root app."""
    app.add_typer(stack_app)


def _data(stack: Stack, active: str) -> dict[str, Any]:
    from kitaru_core._stacks import describe

    return describe(stack, active=stack.name == active)


def _show(stack: Stack, active: str, *, as_json: bool) -> None:
    from kitaru_core._stacks import hide_password

    if as_json:
        print_json(_data(stack, active))
        return
    grid = table("FIELD", "VALUE", title=f"stack {stack.name}")
    grid.add_row(plain("store"), plain(hide_password(stack.store_url)))
    grid.add_row(plain("artifacts"), plain(hide_password(stack.artifact_url)))
    grid.add_row(plain("runner"), plain(stack.runner))
    grid.add_row(plain("active"), plain("yes" if stack.name == active else "no"))
    console().print(grid)


@stack_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="The new stack's name.")],
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help="Store URL: sqlite:///PATH or postgresql+psycopg://USER:${VAR}@HOST/DB "
            "(a password only as a ${VAR} reference).",
        ),
    ],
    artifacts: Annotated[
        str | None,
        typer.Option(
            "--artifacts",
            help="Artifact URL: a folder or s3://BUCKET/PREFIX (default: the folder under "
            "KITARU_HOME).",
        ),
    ] = None,
    runner: Annotated[
        str,
        typer.Option(
            "--runner",
            help="local (runs in the calling process) or workers (queued for `kitaru worker`).",
        ),
    ] = "local",
    use: Annotated[bool, typer.Option("--use", help="Make it the active stack too.")] = False,
    no_check: NoCheck = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a stack. Its store and artifacts must be reachable (unless --no-check)."""
    from kitaru_core.client._stacks import create_stack, current_stack

    stack = create_stack(
        name, store=store, artifacts=artifacts, runner=runner, check=not no_check, activate=use
    )
    active = current_stack().name
    if as_json:
        print_json(_data(stack, active))
        return
    typer.echo(f"Created stack {name!r}." + (" It is the active stack." if use else ""))
    if not use:
        typer.echo(f"Use it with `kitaru stack use {name}`.")


@stack_app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """Every stack; the active one is marked."""
    from kitaru_core._stacks import hide_password
    from kitaru_core.client._stacks import current_stack, list_stacks

    active = current_stack().name
    stacks = list_stacks()
    if as_json:
        print_json([_data(stack, active) for stack in stacks])
        return
    grid = table("", "NAME", "STORE", "ARTIFACTS", "RUNNER")
    for stack in stacks:
        grid.add_row(
            plain("*" if stack.name == active else ""),
            plain(stack.name, "bold" if stack.name == active else ""),
            plain(hide_password(stack.store_url)),
            plain(hide_password(stack.artifact_url)),
            plain(stack.runner),
        )
    console().print(grid)


@stack_app.command("use")
def use_command(
    name: Annotated[str, typer.Argument(help="The stack to make active.")],
    no_check: NoCheck = False,
    as_json: JsonFlag = False,
) -> None:
    """Make a stack the active one (written to the config file)."""
    from kitaru_core.client._stacks import use_stack

    stack = use_stack(name, check=not no_check)
    shadow = os.environ.get("KITARU_STACK")
    if shadow and shadow != name:
        print_warning(
            f"KITARU_STACK={shadow} is set in this environment and takes precedence over the "
            f"config file; unset it to use {name!r}."
        )
    if as_json:
        print_json(_data(stack, name))
        return
    typer.echo(f"Active stack: {name}")


@stack_app.command("current")
def current_command(as_json: JsonFlag = False) -> None:
    """The active stack's name and what chose it."""
    from kitaru_core._stacks import active_stack_source
    from kitaru_core.client._stacks import current_stack

    stack = current_stack()
    source = active_stack_source()
    if as_json:
        print_json({**_data(stack, stack.name), "source": source})
        return
    typer.echo(f"{stack.name} (from {source})")


@stack_app.command("show")
def show_command(
    name: Annotated[
        str | None, typer.Argument(help="The stack to show (default: the active one).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """A stack's store, artifacts and runner, as written (${VAR} references unresolved)."""
    from kitaru_core._stacks import get_stack
    from kitaru_core.client._stacks import current_stack

    active = current_stack()
    _show(get_stack(name) if name else active, active.name, as_json=as_json)


@stack_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="The stack to delete.")],
    as_json: JsonFlag = False,
) -> None:
    """Delete a stack from the config file; its store and artifacts are left untouched."""
    from kitaru_core.client._stacks import delete_stack

    stack = delete_stack(name)
    if as_json:
        print_json({**_data(stack, ""), "deleted": True})
        return
    typer.echo(f"Deleted stack {name!r} (its store and artifacts were not touched).")
