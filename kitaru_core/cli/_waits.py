"""``kitaru executions waits|input|abort-wait``: see and answer what executions wait for."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag, open_client
from kitaru_core.cli._executions import ExecId, executions_app
from kitaru_core.cli._output import (
    console,
    format_time,
    plain,
    print_json,
    render_value,
    shorten,
    status_text,
    table,
)
from kitaru_core.errors import InvalidWaitAnswer, KitaruError
from kitaru_core.waits._answers import describe_schema, select_wait
from kitaru_core.waits._prompt import parse_answer

if TYPE_CHECKING:
    from kitaru_core.client import WaitInfo

WaitOption = Annotated[
    str | None,
    typer.Option("--wait", help="Wait name or id; needed when several waits are pending."),
]


@executions_app.command("waits")
def list_waits(
    exec_id: ExecId,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also show answered, aborted and cancelled waits.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Waits of an execution: pending ones (with --all, every one) and what they ask."""
    api = open_client().executions
    waits = api.waits(exec_id) if show_all else api.pending_waits(exec_id)
    if as_json:
        print_json([w.to_dict() for w in waits])
        return
    if not waits:
        console().print(plain(f"Execution {exec_id} has no {'' if show_all else 'pending '}waits."))
        return
    rows = table("NAME", "STATUS", "QUESTION", "EXPECTS", "ASKED", "ANSWER", "WAIT ID")
    for w in waits:
        rows.add_row(
            plain(w.name),
            status_text(w.status),
            plain(shorten(w.question or "", 80)),
            plain(describe_schema(w.schema)),
            plain(format_time(w.created_at)),
            plain(None if w.status == "pending" else render_value(w.value, compact=True)),
            plain(w.wait_id),
        )
    console().print(rows)
    for w in waits:
        if w.status == "pending" and w.rejection:
            console().print(plain(f"Wait {w.name!r}: {w.rejection} Answer it again.", "yellow"))
    if any(w.status == "pending" for w in waits):
        console().print(
            plain(f"Answer with: kitaru executions input {exec_id} --wait NAME --value JSON")
        )


def interactive() -> bool:
    """Whether a person can be asked on this terminal."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(target: WaitInfo) -> Any:
    """Prompt on the terminal until the answer is valid, then store it."""
    api = open_client().executions
    out = console(stderr=True)
    out.print(plain(target.question or f"Input for {target.name!r}:", "bold"))
    while True:
        text = typer.prompt(f"Answer ({describe_schema(target.schema)})", err=True)
        try:
            return api.input(target.exec_id, parse_answer(text), wait=target.wait_id)
        except InvalidWaitAnswer as exc:
            out.print(plain(shorten(str(exc), 400), "red"))


@executions_app.command("input")
def answer_wait(
    exec_id: ExecId,
    wait: WaitOption = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value",
            help="The answer as JSON (text that is not JSON is taken as a string). "
            "Omit it on a terminal to be asked the wait's question.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Answer a pending wait; the answer is validated against the wait's schema."""
    client = open_client()
    if value is not None:
        answered = client.executions.input(exec_id, parse_answer(value), wait=wait)
    elif interactive():
        # lazy: keeps kitaru --help fast (the client loads the engine and the store)
        from kitaru_core.client import WaitInfo

        answered = _ask(WaitInfo.from_record(select_wait(client.store, exec_id, wait)))
    else:
        raise KitaruError("Pass the answer with --value JSON (stdin is not a terminal).")
    _report(answered, as_json)


@executions_app.command("abort-wait")
def abort_wait(
    exec_id: ExecId,
    wait: WaitOption = None,
    reason: Annotated[str | None, typer.Option(help="Why; the flow sees it.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Abort a pending wait: when resumed, the flow's kitaru.wait() raises WaitAborted."""
    _report(open_client().executions.abort_wait(exec_id, wait=wait, reason=reason), as_json)


def _report(wait: WaitInfo, as_json: bool) -> None:
    execution = open_client().executions.get(wait.exec_id)
    if as_json:
        print_json({**wait.to_dict(), "execution_status": execution.status})
        return
    line = plain(f"Wait {wait.name!r} of {wait.exec_id} ")
    line.append_text(status_text(wait.status))
    if wait.status == "answered":
        line.append(f": {render_value(wait.value, compact=True)}")
    console().print(line)
    if execution.status == "queued":
        console().print(plain(f"Continue it with: kitaru executions resume {wait.exec_id}"))
