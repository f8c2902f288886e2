"""``kitaru artifacts list|get``: values saved with ``kitaru.save``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag, open_client
from kitaru_core.cli._output import (
    console,
    format_size,
    format_time,
    plain,
    print_json,
    render_value,
    table,
    to_jsonable,
)

artifacts_app = typer.Typer(
    name="artifacts",
    help="List saved artifacts and read their values.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach the ``artifacts`` group to the root app."""
    app.add_typer(artifacts_app, name="artifacts")


@artifacts_app.command("list")
def list_artifacts(
    exec_id: Annotated[
        str | None, typer.Option("--exec", help="Only artifacts of this execution.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Only artifacts with this name.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Artifact versions, newest first."""
    client = open_client()
    if exec_id is not None:
        client.executions.get(exec_id)  # an unknown id is an error, not an empty list
    found = client.artifacts.list(exec_id=exec_id, name=name, limit=limit)
    if as_json:
        print_json([artifact.to_dict() for artifact in found])
        return
    if not found:
        console().print(plain("No artifacts."))
        return
    rows = table("ID", "NAME", "VERSION", "EXECUTION", "CODEC", "SIZE", "CREATED")
    for artifact in found:
        rows.add_row(
            plain(artifact.artifact_id),
            plain(artifact.name),
            plain(artifact.version),
            plain(artifact.exec_id),
            plain(artifact.codec),
            plain(format_size(artifact.size)),
            plain(format_time(artifact.created_at)),
        )
    console().print(rows)


@artifacts_app.command("get")
def get_artifact(
    artifact_id: Annotated[str, typer.Argument(help="Artifact id (ka-...).", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Write the value to this file: bytes as they are, text as UTF-8, "
            "anything else as JSON (or its repr).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an artifact's value: text as it is, JSON when possible, else its repr."""
    artifact = open_client().artifacts.get(artifact_id)
    value = artifact.load()
    if output is not None:
        written = _write_value(output, value)
        if as_json:
            print_json({**artifact.to_dict(), "output": str(output), "bytes_written": written})
        else:
            console().print(plain(f"Wrote {written} bytes to {output}"))
        return
    if as_json:
        ok, data = to_jsonable(value)
        document: dict[str, Any] = {**artifact.to_dict(), "value": data}
        if not ok:
            document["value_is_repr"] = True
        print_json(document)
        return
    sys.stdout.write(render_value(value) + "\n")
    sys.stdout.flush()


def _write_value(path: Path, value: Any) -> int:
    data = value if isinstance(value, bytes) else render_value(value).encode()
    path.write_bytes(data)
    return len(data)
