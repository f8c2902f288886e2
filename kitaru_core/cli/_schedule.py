"""``kitaru schedule add|list|remove``: cron-style schedules of flows on a worker stack."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, print_json
from kitaru_core.errors import ConfigurationError

schedule_app = typer.Typer(
    name="schedule",
    help="Cron-style schedules of flows: each due time starts one run on a worker stack.",
    no_args_is_help=True,
)

StackOption = Annotated[
    str | None, typer.Option("--stack", help="Stack (default: the active one).")
]


def register(app: typer.Typer) -> None:
    """Add the ``schedule`` group to the root app."""
    app.add_typer(schedule_app)


def _scheduler(stack: str | None) -> Any:
    # lazy: keeps kitaru --help fast
    from kitaru_core._config import load_settings, settings_for_stack
    from kitaru_core.runners._schedules import scheduler_for

    return scheduler_for(settings_for_stack(stack) if stack else load_settings())


def _load_flow(ref: str) -> Any:
    import importlib
    import os
    import sys

    from kitaru_core.engine._code import locate

    module_name, _, qualname = ref.partition(":")
    if not module_name or not qualname:
        raise ConfigurationError(f"FLOW {ref!r}: give it as module:function, e.g. agents:triage.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"Cannot import flow {ref!r}: {exc}.") from exc
    if not hasattr(obj, "signature") or not hasattr(obj, "ref"):
        raise ConfigurationError(f"{ref!r} is not a @flow.")
    locate(obj.func)
    return obj


@schedule_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the schedule.")],
    flow_ref: Annotated[str, typer.Argument(metavar="FLOW", help="The flow, as module:function.")],
    cron: Annotated[
        str,
        typer.Option("--cron", help="Five fields ('*/15 * * * *'), or six with seconds last."),
    ],
    args: Annotated[
        str, typer.Option("--args", help="Keyword arguments of every run, as a JSON object.")
    ] = "{}",
    stack: StackOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add (or replace) a schedule: each due time starts one run of FLOW."""
    from kitaru_core.runners._schedules import make_schedule

    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--args is not JSON ({exc}); give an object.") from exc
    if not isinstance(arguments, dict):
        raise ConfigurationError("--args must be a JSON object of keyword arguments.")
    schedule = make_schedule(name, cron, _load_flow(flow_ref), arguments)
    _scheduler(stack).add_schedule(schedule)
    if as_json:
        print_json(_row(schedule))
    else:
        console().print(f"Schedule {name!r}: {schedule.flow_name} at '{cron}'.")


@schedule_app.command("list")
def list_schedules(stack: StackOption = None, as_json: JsonFlag = False) -> None:
    """Every schedule of the stack."""
    rows = [_row(schedule) for schedule in _scheduler(stack).list_schedules()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("No schedules. Add one with `kitaru schedule add NAME FLOW --cron ...`.")
    for row in rows:
        console().print(f"{row['name']}  {row['cron']}  {row['flow']}  {json.dumps(row['args'])}")


@schedule_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Name of the schedule.")],
    stack: StackOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete a schedule (runs it started are kept)."""
    if not _scheduler(stack).remove_schedule(name):
        raise ConfigurationError(f"No schedule named {name!r}; see `kitaru schedule list`.")
    if as_json:
        print_json({"removed": name})
    else:
        console().print(f"Removed schedule {name!r}.")


def _row(schedule: Any) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "cron": schedule.cron,
        "flow": schedule.flow_ref,
        "args": schedule.arguments,
        "created_at": datetime.fromtimestamp(schedule.created_at, tz=UTC).isoformat(),
    }
