"""``kitaru doctor``: check the active stack's store and say what was found."""

from __future__ import annotations

from typing import Annotated

import typer

from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, plain, print_json, table


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to the root app."""
    app.command("doctor")(doctor_command)


def doctor_command(
    blobs: Annotated[
        bool,
        typer.Option("--blobs", help="Also re-hash every blob the store references."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the store: connection, integrity, schema revision, and blob hashes with --blobs.

    Nothing is written. Exit code 1 when any check finds a problem.
    """
    from kitaru_core._config import load_settings
    from kitaru_core.cli._status import hide_password
    from kitaru_core.store._doctor import diagnose

    settings = load_settings()
    findings = diagnose(settings, blobs=blobs)
    healthy = all(finding.ok for finding in findings)
    if as_json:
        print_json(
            {
                "store_url": hide_password(settings.stack.store_url),
                "artifact_url": hide_password(settings.stack.artifact_url),
                "ok": healthy,
                "checks": [finding.to_dict() for finding in findings],
            }
        )
    else:
        grid = table("CHECK", "RESULT", "DETAIL", title=hide_password(settings.stack.store_url))
        for finding in findings:
            result = plain("ok", "green") if finding.ok else plain("PROBLEM", "bold red")
            grid.add_row(plain(finding.check), result, plain(finding.detail))
        console().print(grid)
    if not healthy:
        raise typer.Exit(1)
