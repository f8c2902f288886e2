"""``kitaru worker``: run queued executions of a worker stack."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``worker`` command to the root app."""
    app.command("worker")(worker_command)


def worker_command(
    stack: Annotated[
        str | None, typer.Option("--stack", help="Stack to serve (default: the active one).")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Executions this worker runs at once.")
    ] = 1,
    flows: Annotated[
        str | None,
        typer.Option("--flows", help="Run only flows whose name matches this pattern (fnmatch)."),
    ] = None,
) -> None:
    """Run queued executions of a worker stack until SIGTERM or Ctrl-C (which drains: the
    operation in flight finishes, then the execution is queued again for another worker)."""
    # lazy: keeps kitaru --help fast
    from kitaru_core.runners._serve import serve

    serve(stack, concurrency=concurrency, flows=flows)
