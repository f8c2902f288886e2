"""``kitaru executions replay|lineage``: re-run an execution from a chosen operation."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag, open_client
from kitaru_core.cli._executions import (
    EXIT_CODES,
    RUN_EXIT_HELP,
    ExecId,
    _with_result,
    executions_app,
)
from kitaru_core.cli._output import (
    console,
    format_error,
    format_time,
    plain,
    print_error,
    print_json,
    render_value,
    status_text,
    table,
)
from kitaru_core.errors import ExecutionSuspended, InvalidReplay


def _json_object(text: str | None, option: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidReplay(f"{option} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise InvalidReplay(f'{option} must be a JSON object, e.g. \'{{"name": "value"}}\'.')
    return data


@executions_app.command("replay", epilog=RUN_EXIT_HELP)
def replay_execution(
    exec_id: ExecId,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="First operation to run again: a checkpoint name or operation id."
        ),
    ] = None,
    args: Annotated[
        str | None, typer.Option("--args", help='Changed flow arguments, JSON: {"topic": "x"}.')
    ] = None,
    overrides: Annotated[
        str | None,
        typer.Option(
            "--overrides",
            help='JSON: {"checkpoint.NAME": output, "wait.NAME": answer, "arg.NAME": value}.',
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a new execution that reuses this one's operations before --from."""
    flow_kwargs = _json_object(args, "--args")
    changes = _json_object(overrides, "--overrides")
    api = open_client().executions
    redirect = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with redirect:
        handle = api.replay(exec_id, from_=from_, overrides=changes, **flow_kwargs)
    message = None
    try:
        handle.wait()
    except ExecutionSuspended as exc:
        message = str(exc)
    except Exception:  # the stored status and error say how it failed
        pass
    execution = handle.get()
    code = EXIT_CODES.get(execution.status, 0)
    if as_json:
        print_json({**_with_result(execution), "message": message})
        raise typer.Exit(code)
    reused = sum(1 for op in execution.operations if op.reused)
    line = plain(f"Replay {execution.exec_id} of {exec_id} ")
    line.append_text(status_text(execution.status))
    ran = len(execution.operations) - reused
    line.append(f" ({ran} operation{'' if ran == 1 else 's'} ran, {reused} reused)")
    console().print(line)
    if execution.status == "completed":
        console().print(plain(render_value(execution.result)))
    elif execution.status == "waiting":
        console().print(plain(message or "It is waiting for input.", "yellow"))
    elif execution.status == "failed":
        error = format_error(execution.error).rstrip(".")
        print_error(f"Replay {execution.exec_id} failed: {error}.")
    raise typer.Exit(code)


def _started_from(replay_from: str | None, source: str | None) -> str:
    if source is None:
        return "(original)"
    return f"{source} at {replay_from or 'the start'}"


@executions_app.command("lineage")
def execution_lineage(exec_id: ExecId, as_json: JsonFlag = False) -> None:
    """An execution and the executions it was replayed from, newest first."""
    chain = open_client().executions.lineage(exec_id)
    if as_json:
        print_json([execution.to_dict(with_operations=False) for execution in chain])
        return
    rows = table("ID", "FLOW", "STATUS", "CREATED", "REPLAY OF")
    for execution in chain:
        rows.add_row(
            plain(execution.exec_id),
            plain(execution.flow_name),
            status_text(execution.status),
            plain(format_time(execution.created_at)),
            plain(_started_from(execution.replay_from, execution.original_exec_id)),
        )
    console().print(rows)
