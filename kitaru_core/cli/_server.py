"""``kitaru server start|token``, ``kitaru login``, and ``kitaru executions logs --follow``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from kitaru_core.cli._common import JsonFlag
from kitaru_core.cli._output import console, format_time, plain, print_json

server_app = typer.Typer(help="Run the Kitaru server (REST API and dashboard); manage its tokens.")
token_app = typer.Typer(help="Bearer tokens of the server (stored hashed in its store).")
server_app.add_typer(token_app, name="token")


def register(app: typer.Typer) -> None:
    """Add ``server`` and ``login`` to the root app."""
    app.add_typer(server_app, name="server")
    app.command("login")(login)


def _settings(stack: str | None) -> Any:
    from kitaru_core._config import load_settings, settings_for_stack

    return settings_for_stack(stack) if stack else load_settings()


StackOption = Annotated[
    str | None, typer.Option("--stack", help="Stack to serve (default: the active one).")
]


@server_app.command("start")
def start(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8383,
    stack: StackOption = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="No tokens (refused unless --host is loopback).")
    ] = False,
) -> None:
    """Serve the REST API (/api, /openapi.json) and the dashboard (/) until Ctrl-C."""
    from kitaru_core.server._serve import serve

    serve(_settings(stack), host=host, port=port, auth=not no_auth)


def _token_store(stack: str | None) -> Any:
    from kitaru_core.store._backends import current_store

    return current_store(_settings(stack))


@token_app.command("create")
def create_token(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "default",
    stack: StackOption = None,
) -> None:
    """Make a token; it is printed once, as the last word (only its hash is kept)."""
    from kitaru_core.server._tokens import create_token as make

    record, token = make(_token_store(stack), name)
    console(stderr=True).print(plain(f"Token {record.token_id} ({record.name}) created:"))
    sys.stdout.write(f"{token}\n")


@token_app.command("list")
def list_tokens(stack: StackOption = None, as_json: JsonFlag = False) -> None:
    """Tokens by id and name (never the tokens themselves)."""
    records = _token_store(stack).list_tokens()
    rows = [
        {
            "token_id": r.token_id,
            "name": r.name,
            "created_at": r.created_at,
            "revoked_at": r.revoked_at,
        }
        for r in records
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = f"revoked {format_time(row['revoked_at'])}" if row["revoked_at"] else "live"
        line = f"{row['token_id']}  {row['name']}  {format_time(row['created_at'])}  {state}"
        console().print(plain(line))


@token_app.command("revoke")
def revoke_token(token_id: str, stack: StackOption = None) -> None:
    """Revoke a token by id: the server refuses it (and its dashboard sessions) at once."""
    from kitaru_core.server._tokens import revoke_token as revoke

    revoke(_token_store(stack), token_id)
    console().print(plain(f"Token {token_id} revoked."))


def login(
    url: Annotated[str, typer.Argument(help="The server, e.g. http://127.0.0.1:8383.")],
    token: Annotated[
        str | None,
        typer.Option("--token", help="A token from `kitaru server token create` (else asked)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Name of the stack to save.")] = "server",
) -> None:
    """Save a server as a stack (and make it active); the token goes to a file only you can
    read. Flows and commands then use the server: no database credentials needed here."""
    from kitaru_core._config import read_config_file, reset_cache, write_config_file
    from kitaru_core.api._connect import server_store_url
    from kitaru_core.store._backends import open_store
    from kitaru_core.store._http_store import base_url, credentials_path, save_credentials

    secret = token or typer.prompt("Token", hide_input=True)
    store_url = server_store_url(url)
    save_credentials(base_url(store_url), secret.strip())
    open_store(store_url).list_executions(limit=1)  # the token works, or a clear error
    data = read_config_file()
    data.setdefault("stacks", {})[name] = {"store": store_url, "artifacts": store_url}
    data["active_stack"] = name
    write_config_file(data)
    reset_cache()
    console().print(
        plain(
            f"Logged in to {base_url(store_url)} as stack {name!r}; token in {credentials_path()}."
        )
    )


def follow_logs(exec_id: str, *, timestamps: bool, as_json: bool) -> None:
    """Print an execution's lines and progress events as they come, until it stops."""
    from kitaru_core.client import KitaruClient
    from kitaru_core.store._http_store import PLAIN_SCHEMES, SCHEMES

    client = KitaruClient()
    events = (
        _server_events(client.settings.stack.store_url, exec_id)
        if client.settings.stack.store_url.startswith((*SCHEMES, *PLAIN_SCHEMES))
        else _store_events(client, exec_id)
    )
    for kind, data in events:
        if as_json:
            sys.stdout.write(json.dumps({"event": kind, **data}) + "\n")
        elif kind in ("log", "progress"):
            prefix = f"{format_time(data['ts'])} " if timestamps else ""
            sys.stdout.write(f"{prefix}{_shown(kind, data['line'])}\n")
        elif kind == "end":
            console(stderr=True).print(plain(f"Execution {exec_id} is {data['status']}."))
        sys.stdout.flush()


def _shown(kind: str, line: str) -> str:
    if kind != "progress":
        return line
    try:
        event = json.loads(line)
    except ValueError:
        return f"▸ {line}"
    extra = " ".join(f"{k}={v}" for k, v in (event.get("data") or {}).items())
    return f"▸ {event.get('message', '')}" + (f" ({extra})" if extra else "")


def _server_events(store_url: str, exec_id: str) -> Any:
    """Server-sent events of ``/api/executions/ID/events``."""
    import httpx

    from kitaru_core.errors import StoreUnavailable
    from kitaru_core.store._http_store import base_url, token_for

    base = base_url(store_url)
    token = token_for(base)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{base}/api/executions/{exec_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=None) as response:
        if response.status_code != 200:
            response.read()
            raise StoreUnavailable(
                f"The server at {base} answered {response.status_code}: {response.text[:200]}"
            )
        kind = "message"
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                yield kind, json.loads(line[len("data: ") :])
                if kind == "end":
                    return


def _store_events(client: Any, exec_id: str) -> Any:
    """The same events, read from a store this process opens itself."""
    import time

    from kitaru_core.store._records import FINISHED_STATUSES

    seen = 0
    while True:
        status = client.executions.get(exec_id).status
        lines = client.executions.logs(exec_id)
        for line in lines[seen:]:
            yield ("progress" if line.stream == "progress" else "log"), vars(line)
        seen = len(lines)
        if status in FINISHED_STATUSES or status == "waiting":
            yield "end", {"exec_id": exec_id, "status": status}
            return
        time.sleep(0.25)
