"""``kitaru status``: the active stack, where it stores things, and executions by status."""

from __future__ import annotations

from typing import Any

import typer

from kitaru_core._config import config_path, load_settings
from kitaru_core._stacks import hide_password
from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, plain, print_error, print_json, status_text
from kitaru_core.errors import KitaruError
from kitaru_core.store._backends import current_store
from kitaru_core.store._records import EXECUTION_STATUSES


def register(app: typer.Typer) -> None:
    """Add the ``status`` command to the root app."""
    app.command("status")(status_command)


def status_command(as_json: JsonFlag = False) -> None:
    """Active stack, store and artifact URLs, runner, durability, lease and log-flush seconds,
    KITARU_HOME, executions by status.

    Exit code 1 when the store cannot be opened (the settings are still shown).
    """
    settings = load_settings()
    data: dict[str, Any] = {
        "version": _version(),
        "stack": settings.stack.name,
        "store_url": hide_password(settings.stack.store_url),
        "artifact_url": hide_password(settings.stack.artifact_url),
        "runner": settings.stack.runner,
        "durability": settings.durability,
        "lease_seconds": settings.lease_seconds,
        "log_flush_seconds": settings.log_flush_seconds,
        "kitaru_home": str(settings.home),
        "config_file": str(config_path()) if config_path().exists() else None,
        "executions": None,
    }
    store_error = None
    try:
        data["executions"] = _count_by_status(settings)
    except KitaruError as exc:
        store_error = str(exc)
        data["store_error"] = store_error
    if as_json:
        print_json(data)
    else:
        _print_status(data)
    if store_error is not None:
        if not as_json:
            print_error(store_error)
        raise typer.Exit(1)


def _count_by_status(settings: Any) -> dict[str, int]:
    counts = current_store(settings).count_executions()
    return {status: counts.get(status, 0) for status in EXECUTION_STATUSES}


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kitaru")
    except PackageNotFoundError:
        return None


def _print_status(data: dict[str, Any]) -> None:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    seconds = ("lease_seconds", "log_flush_seconds")
    for label, key in (
        ("kitaru", "version"),
        ("stack", "stack"),
        ("store", "store_url"),
        ("artifacts", "artifact_url"),
        ("runner", "runner"),
        ("durability", "durability"),
        ("lease", "lease_seconds"),
        ("log flush", "log_flush_seconds"),
        ("KITARU_HOME", "kitaru_home"),
        ("config file", "config_file"),
    ):
        value = f"{data[key]:g} s" if key in seconds else data[key]
        grid.add_row(label, plain(value if value is not None else "none"))
    counts = data["executions"]
    if counts is not None:
        line = plain(f"{sum(counts.values())} total")
        for status, count in counts.items():
            if count:
                line.append(f", {count} ")
                line.append_text(status_text(status))
        grid.add_row("executions", line)
    console().print(grid)
