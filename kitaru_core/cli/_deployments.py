"""``kitaru deploy``, ``kitaru deployments list|show|tag|delete`` and ``kitaru invoke``."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag, open_client
from kitaru_core.cli._output import console, format_time, plain, print_json, table
from kitaru_core.errors import InvalidDeployment

if TYPE_CHECKING:
    from kitaru_core.store._records import DeploymentRecord

deployments_app = typer.Typer(
    name="deployments",
    help="List, show, tag and delete the versions of published flows.",
    no_args_is_help=True,
)

FlowName = Annotated[str, typer.Argument(metavar="FLOW", help="The deployment's name.")]
VersionArg = Annotated[str, typer.Argument(metavar="VERSION", help="A version: 3 or v3.")]


def register(app: typer.Typer) -> None:
    """Attach ``deploy``, ``invoke`` and the ``deployments`` group to the root app."""
    app.command("deploy")(deploy)
    app.command("invoke", epilog=_exit_help())(invoke)
    app.add_typer(deployments_app, name="deployments")


def _exit_help() -> str:
    from kitaru_core.cli._executions import RUN_EXIT_HELP

    return RUN_EXIT_HELP


def deployment_dict(record: DeploymentRecord) -> dict[str, Any]:
    """A deployment version as JSON."""
    return {
        "name": record.name,
        "version": record.version,
        "tags": record.tags,
        "snapshot": record.snapshot,
        "flow": record.flow_ref,
        "created_at": record.created_at,
        "source": record.source,
        "packages": record.packages,
        "new": record.new,
    }


def deploy(
    target: Annotated[
        str,
        typer.Argument(
            metavar="FILE.py:FLOW",
            help="The flow to publish: path/to/file.py:flow_name or package.module:flow_name.",
        ),
    ],
    name: Annotated[
        str | None, typer.Option(help="Publish under this name (default: the flow's name).")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Point this tag at the new version (repeatable)."),
    ] = None,
    no_default: Annotated[
        bool, typer.Option("--no-default", help="Leave the `default` tag where it is.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Publish a snapshot of a flow's code as its next version (same code: same version)."""
    record = open_client().deployments.deploy(
        target, name=name, tags=tag or (), default=not no_default
    )
    if as_json:
        print_json(deployment_dict(record))
        return
    tags = f" (tags: {', '.join(record.tags)})" if record.tags else ""
    if record.new:
        console().print(plain(f"Deployed {record.name} v{record.version}{tags}"))
    else:
        console().print(
            plain(f"Unchanged: {record.name} v{record.version} has this code already{tags}")
        )


@deployments_app.command("list")
def list_deployments(
    name: Annotated[
        str | None, typer.Argument(metavar="[FLOW]", help="Only this deployment's versions.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Deployed versions with their tags: by name, newest version first."""
    found = open_client().deployments.list(name)
    if as_json:
        print_json([deployment_dict(record) for record in found])
        return
    if not found:
        console().print(plain("Nothing is deployed yet."))
        return
    rows = table("FLOW", "VERSION", "TAGS", "CREATED", "SNAPSHOT")
    for record in found:
        rows.add_row(
            plain(record.name),
            plain(f"v{record.version}"),
            plain(", ".join(record.tags)),
            plain(format_time(record.created_at)),
            plain(record.snapshot[:12]),
        )
    console().print(rows)


@deployments_app.command("show")
def show_deployment(
    name: FlowName,
    version: Annotated[str | None, typer.Option(help="This version (3 or v3).")] = None,
    tag: Annotated[str | None, typer.Option(help="The version this tag points at.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """One version (the `default` one unless --version or --tag): snapshot, source, packages."""
    record = open_client().deployments.show(name, version=version, tag=tag)
    data = deployment_dict(record)
    if as_json:
        print_json(data)
        return
    out = console()
    out.print(plain(f"{record.name} v{record.version}", "bold"))
    for key in ("tags", "flow", "snapshot", "source"):
        value = ", ".join(data[key]) if key == "tags" else data[key]
        out.print(plain(f"  {key}: {value}"))
    out.print(plain(f"  created: {format_time(record.created_at)}"))
    packages = ", ".join(f"{dist}=={ver}" for dist, ver in sorted(record.packages.items()))
    out.print(plain(f"  packages: {packages}"))


@deployments_app.command("tag")
def tag_deployment(
    name: FlowName,
    version: VersionArg,
    tag: Annotated[str, typer.Argument(metavar="TAG", help="default, stable, canary, ...")],
    as_json: JsonFlag = False,
) -> None:
    """Point TAG at VERSION (moving it from where it was): invocations with it run that one."""
    record = open_client().deployments.tag(name, version, tag)
    if as_json:
        print_json(deployment_dict(record))
        return
    console().print(plain(f"{record.name} {tag} -> v{record.version}"))


@deployments_app.command("delete")
def delete_deployment(name: FlowName, version: VersionArg, as_json: JsonFlag = False) -> None:
    """Delete a version (refused while executions of it are unfinished)."""
    client = open_client()
    number = client.deployments.resolve(name, version=version).version
    removed = client.deployments.delete(name, number)
    if as_json:
        print_json({"name": name, "version": number, "removed_tags": removed})
        return
    note = f" (removed tags: {', '.join(removed)})" if removed else ""
    console().print(plain(f"Deleted {name} v{number}{note}"))


def invoke(
    flow: Annotated[str, typer.Argument(metavar="FLOW", help="The deployment's name.")],
    args: Annotated[
        str, typer.Option("--args", help="The flow's arguments as a JSON object: '{\"x\": 1}'.")
    ] = "{}",
    tag: Annotated[str | None, typer.Option(help="Run the version this tag points at.")] = None,
    version: Annotated[str | None, typer.Option(help="Run this version (3 or v3).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Start a deployed flow by name (its `default` version unless --tag or --version).

    On a local stack it runs here and the command ends when it stops; on a worker stack it is
    queued and the command prints its id.
    """
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as exc:
        raise InvalidDeployment(
            f"--args is not JSON ({exc}); write '{{\"name\": value}}'."
        ) from None
    client = open_client()
    redirect = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with redirect:
        handle = client.deployments.invoke(flow, arguments, tag=tag, version=version)
    execution = client.executions.get(handle.exec_id)
    if execution.status == "queued":
        if as_json:
            print_json(execution.to_dict(with_operations=False))
            return
        console().print(
            plain(f"Queued execution {execution.exec_id} ({flow} v{execution.deployment_version})")
        )
        return
    from kitaru_core.cli._executions import report_stopped

    report_stopped(handle, as_json)
