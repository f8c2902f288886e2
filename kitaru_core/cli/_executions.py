"""``kitaru executions list|get|logs|resume|retry|cancel``.

Other modules add commands to this group by decorating a function with
``@executions_app.command("NAME")`` (see the docstring of ``_app.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag, open_client
from kitaru_core.cli._output import (
    console,
    format_cost,
    format_duration,
    format_error,
    format_time,
    plain,
    print_error,
    print_json,
    render_value,
    shorten,
    status_text,
    table,
)
from kitaru_core.errors import ExecutionSuspended

if TYPE_CHECKING:
    from kitaru_core.client import Execution
    from kitaru_core.client._handle import FlowHandle

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_WAITING = 3
EXIT_CANCELLED = 4
EXIT_CODES = {
    "completed": EXIT_COMPLETED,
    "failed": EXIT_FAILED,
    "waiting": EXIT_WAITING,
    "cancelled": EXIT_CANCELLED,
}
RUN_EXIT_HELP = (
    "Exit code: 0 completed, 1 failed (or could not run), 3 waiting for input, 4 cancelled."
)

executions_app = typer.Typer(
    name="executions",
    help="List, inspect, resume, retry, cancel and replay executions; answer their waits.",
    no_args_is_help=True,
)

ExecId = Annotated[str, typer.Argument(help="Execution id (kr-...).", show_default=False)]


class Status(StrEnum):
    """Execution statuses accepted by ``--status``."""

    queued = "queued"
    running = "running"
    waiting = "waiting"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


def register(app: typer.Typer) -> None:
    """Attach the ``executions`` group to the root app."""
    app.add_typer(executions_app, name="executions")


@executions_app.command("list")
def list_executions(
    flow: Annotated[str | None, typer.Option(help="Only executions of this flow.")] = None,
    status: Annotated[
        Status | None,
        typer.Option(
            metavar="<status>",
            help="Only executions in this status: queued, running, waiting, completed, failed "
            "or cancelled.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    parent: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Only the child executions of execution ID."),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option(help="Only executions started from this deployment (`kitaru invoke`)."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="Only executions of this deployment version (3 or v3)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Executions, newest first."""
    found = open_client().executions.list(
        flow=flow,
        status=status.value if status else None,
        limit=limit,
        parent=parent,
        deployment=deployment,
        version=version,
    )
    if as_json:
        print_json([execution.to_dict(with_operations=False) for execution in found])
        return
    if not found:
        console().print(plain("No executions."))
        return
    rows = table("ID", "FLOW", "VERSION", "STATUS", "CREATED", "DURATION", "RUNS")
    for execution in found:
        version_text = f"v{execution.deployment_version}" if execution.deployment_version else "-"
        rows.add_row(
            plain(execution.exec_id),
            plain(execution.flow_name),
            plain(version_text),
            status_text(execution.status),
            plain(format_time(execution.created_at)),
            plain(format_duration(execution.duration)),
            plain(execution.run_count),
        )
    console().print(rows)


FullFlag = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Show inputs, outputs and the result whole, not cut to previews.",
    ),
]


@executions_app.command("get")
def get_execution(exec_id: ExecId, as_json: JsonFlag = False, full: FullFlag = False) -> None:
    """Status, timestamps, error, cost, inputs, result and operations of one execution."""
    execution = open_client().executions.get(exec_id)
    if as_json:
        print_json(_with_result(execution, full=full))
        return
    _print_execution(execution, full=full)


def _with_result(execution: Execution, *, full: bool = False) -> dict[str, Any]:
    """``Execution.to_dict()`` plus inputs and result: previews unless ``full``, with a hint
    on how to see them whole when something was cut."""
    data = {
        **execution.to_dict(full_values=full),
        **execution.value_fields(full_values=full),
    }
    cut = any(key.endswith("_truncated") for key in data) or any(
        key.endswith("_truncated") for op in data.get("operations", []) for key in op
    )
    if cut:
        data["truncated_hint"] = (
            "Long values are cut to previews (see the *_truncated fields); "
            f"`kitaru executions get {execution.exec_id} --json --full` shows them whole."
        )
    return data


def _print_execution(execution: Execution, *, full: bool = False) -> None:
    from rich.table import Table

    out = console()
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column()
    rows: list[tuple[str, Any]] = [
        ("execution", plain(execution.exec_id)),
        ("flow", plain(execution.flow_name)),
        ("status", status_text(execution.status)),
        ("created", plain(format_time(execution.created_at))),
        ("started", plain(format_time(execution.started_at))),
        ("ended", plain(format_time(execution.ended_at))),
        ("duration", plain(format_duration(execution.duration))),
        ("runs", plain(execution.run_count)),
    ]
    if execution.original_exec_id:
        source = execution.original_exec_id
        if execution.replay_from:
            source += f" (from {execution.replay_from})"
        rows.append(("replay of", plain(source)))
    if execution.parent_id:
        detached = " (detached)" if execution.detached else ""
        rows.append(("parent", plain(execution.parent_id + detached)))
    if execution.children:
        rows.append(("children", _children_text(execution)))
    if execution.error:
        rows.append(("error", plain(format_error(execution.error), "red")))
    rows += [
        ("tokens", plain(f"{execution.tokens_in} in / {execution.tokens_out} out")),
        ("cost", plain(f"{format_cost(execution.cost_spent)} spent")),
        ("saved", plain(f"{format_cost(execution.cost_saved)} by reused calls")),
    ]
    if execution.children or execution.reused_children:
        for label, usage in (
            ("children spent", execution.children_usage),
            ("with children", execution.total_usage),
        ):
            rows.append(
                (
                    label,
                    plain(
                        f"{usage['tokens_in']} in / {usage['tokens_out']} out tokens, "
                        f"{format_cost(usage['cost_spent'])} spent, "
                        f"{format_cost(usage['cost_saved'])} saved"
                    ),
                )
            )
    values = execution.value_fields(full_values=full)
    if values.get("inputs"):
        rows.append(("inputs", plain(_shown(values["inputs"], full))))
    if "result_error" in values:
        rows.append(("result", plain(values["result_error"], "red")))
    elif execution.status == "completed":
        rows.append(("result", plain(_shown(values["result"], full))))
    if execution.metadata:
        rows.append(("metadata", plain(shorten(render_value(execution.metadata, compact=True)))))
    for label, value in rows:
        details.add_row(label, value)
    out.print(details)

    operations = execution.operations
    if not operations:
        out.print(plain("\nNo operations recorded."))
        return
    ops = table("#", "NAME", "KIND", "STATUS", "ATTEMPTS", "DURATION", "REUSED", title="Operations")
    for number, op in enumerate(operations, start=1):
        ops.add_row(
            plain(number),
            plain(op.name),
            plain(op.kind),
            status_text(op.status),
            plain(op.attempts),
            plain(format_duration(op.duration)),
            plain("yes" if op.reused else ""),
        )
    out.print()
    out.print(ops)


def _children_text(execution: Execution) -> Any:
    """Each child's id and status, one per line."""
    text = plain("")
    for number, child in enumerate(execution.children):
        if number:
            text.append("\n")
        text.append(f"{child.exec_id} ({child.flow_name}) ")
        text.append_text(status_text(child.status))
    return text


def _shown(value: Any, full: bool) -> str:
    """A value on one line (cut unless ``full``)."""
    text = render_value(value, compact=True)
    return text if full else shorten(text)


@executions_app.command("logs")
def execution_logs(
    exec_id: ExecId,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Prefix each line with its time.")
    ] = False,
    as_json: JsonFlag = False,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new lines and progress until it stops."),
    ] = False,
) -> None:
    """Lines the execution printed or logged, in order (``--follow``: live, over server-sent
    events when the stack is a server)."""
    if follow:
        from kitaru_core.cli._server import follow_logs

        follow_logs(exec_id, timestamps=timestamps, as_json=as_json)
        return
    lines = open_client().executions.logs(exec_id)
    if as_json:
        print_json([dataclasses.asdict(line) for line in lines])
        return
    for line in lines:
        prefix = f"{format_time(line.ts)} " if timestamps else ""
        sys.stdout.write(f"{prefix}{line.line}\n")
    sys.stdout.flush()


@executions_app.command("resume", epilog=RUN_EXIT_HELP)
def resume_execution(exec_id: ExecId, as_json: JsonFlag = False) -> None:
    """Continue a crashed, failed or answered execution here; completed operations are reused."""
    _run_here(exec_id, "resume", as_json)


@executions_app.command("retry", epilog=RUN_EXIT_HELP)
def retry_execution(exec_id: ExecId, as_json: JsonFlag = False) -> None:
    """Run a failed execution again from the top; the failed operation runs again."""
    _run_here(exec_id, "retry", as_json)


def _run_here(exec_id: str, action: str, as_json: bool) -> None:
    """Resume or retry in this process, print how it ended, exit with a code for its status."""
    api = open_client().executions
    # With --json, stdout carries only the JSON document: the flow's own output goes to stderr.
    redirect = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with redirect:
        handle = api.resume(exec_id) if action == "resume" else api.retry(exec_id)
    report_stopped(handle, as_json)


def report_stopped(handle: FlowHandle, as_json: bool) -> None:
    """Print how a run that stopped here ended and exit with a code for its status."""
    message = None
    try:
        handle.wait()
    except ExecutionSuspended as exc:
        message = str(exc)
    except Exception:  # the stored status and error say how it failed
        pass
    execution = handle.get()
    code = EXIT_CODES.get(execution.status, EXIT_COMPLETED)
    if as_json:
        print_json({**_with_result(execution), "message": message})
        raise typer.Exit(code)
    out = console()
    reused = sum(1 for op in execution.operations if op.reused)
    ran = len(execution.operations) - reused
    summary = plain(f"Execution {execution.exec_id} ")
    summary.append_text(status_text(execution.status))
    summary.append(f" ({ran} operation{'' if ran == 1 else 's'} ran, {reused} reused)")
    out.print(summary)
    if execution.status == "completed":
        out.print(plain(render_value(execution.result)))
    elif execution.status == "waiting":
        out.print(
            plain(message or f"Execution {execution.exec_id} is waiting for input.", "yellow")
        )
    elif execution.status == "failed":
        next_step = (execution.error or {}).get("next_step") or (
            f"Fix the cause, then `kitaru executions retry {execution.exec_id}`."
        )
        print_error(
            f"Execution {execution.exec_id} failed: {format_error(execution.error).rstrip('.')}. "
            f"{next_step}"
        )
    raise typer.Exit(code)


@executions_app.command("cancel")
def cancel_execution(exec_id: ExecId, as_json: JsonFlag = False) -> None:
    """Mark an unfinished (queued, running or waiting) execution cancelled."""
    execution = open_client().executions.cancel(exec_id)
    if as_json:
        print_json(execution.to_dict(with_operations=False))
        return
    line = plain(f"Execution {execution.exec_id} ")
    line.append_text(status_text(execution.status))
    console().print(line)
