"""The dashboard: server-rendered pages (Jinja2) and a little plain JavaScript, no build step.

Pages sign in with the API's tokens: ``/login`` opens a session (cookie HttpOnly,
SameSite=Strict); every form carries the session's CSRF token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from kitaru_core.client import ExecutionsAPI
from kitaru_core.client._handoff import hand_off, hand_off_replay
from kitaru_core.errors import KitaruError
from kitaru_core.server._auth import SESSION_COOKIE, Caller, caller_of, check_csrf
from kitaru_core.server._forms import form_fields, form_value
from kitaru_core.server._tokens import check_token
from kitaru_core.store._records import EXECUTION_STATUSES

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=repr)


def progress_text(line: str) -> str:
    """A progress event's line as people read it: ``message (key=value, ...)``."""
    try:
        event = json.loads(line)
        extra = ", ".join(f"{k}={v}" for k, v in (event.get("data") or {}).items())
        return str(event.get("message", "")) + (f" ({extra})" if extra else "")
    except (ValueError, AttributeError):
        return line


templates.env.filters["progress_text"] = progress_text
router = APIRouter(include_in_schema=False)


class SignIn(Exception):
    """Raised by a page whose caller is not signed in: answered with a redirect."""


def page_caller(request: Request) -> Caller:
    """The signed-in caller of a page (cookie only), else a redirect to /login."""
    try:
        return caller_of(request, None)
    except HTTPException as exc:
        raise SignIn from exc


PageCaller = Annotated[Caller, Depends(page_caller)]


def mount_static(app: FastAPI) -> None:
    """Serve the dashboard's CSS and JS, and answer SignIn with a redirect."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(SignIn)
    async def to_login(request: Request, exc: SignIn) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _render(request: Request, name: str, caller: Caller | None, **context: Any) -> HTMLResponse:
    csrf = caller.session.csrf if caller and caller.session else ""
    auth = request.app.state.auth
    return templates.TemplateResponse(
        request, name, {"csrf": csrf, "auth": auth, "statuses": EXECUTION_STATUSES, **context}
    )


def _api(request: Request) -> ExecutionsAPI:
    return request.app.state.executions


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path of this server, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", error: str | None = None) -> HTMLResponse:
    """The sign-in form (public)."""
    return _render(request, "login.html", None, next=_safe_next(next), error=error)


@router.post("/login")
def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Open a session for a valid token."""
    record = check_token(request.app.state.store, token.strip())
    if record is None:
        return _render(
            request, "login.html", None, next=_safe_next(next), error="Unknown or revoked token."
        )
    cookie, _ = request.app.state.sessions.open(record.token_id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, caller: PageCaller, csrf: Annotated[str, Form()] = "") -> Response:
    """Close the session."""
    check_csrf(caller, csrf)
    request.app.state.sessions.close(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def executions_page(
    request: Request, caller: PageCaller, flow: str | None = None, status: str | None = None
) -> HTMLResponse:
    """Executions, newest first, with filters; statuses refresh live."""
    api = _api(request)
    found = api.list(flow=flow or None, status=status or None, limit=200)
    rows = [e.to_dict(with_operations=False) for e in found]
    return _render(request, "executions.html", caller, rows=rows, flow=flow, status=status)


@router.get("/executions/{exec_id}", response_class=HTMLResponse)
def execution_page(
    request: Request, exec_id: str, caller: PageCaller, error: str | None = None
) -> HTMLResponse:
    """One execution: timeline, pending waits, logs, artifacts, lineage and actions."""
    api = _api(request)
    try:
        execution = api.get(exec_id)
    except KitaruError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    data = {**execution.to_dict(), **execution.value_fields()}
    pending = [{"wait": w, "fields": form_fields(w.schema)} for w in api.pending_waits(exec_id)]
    artifacts = [a.to_dict() for a in request.app.state.artifacts.list(exec_id=exec_id)]
    lineage = [e.to_dict(with_operations=False) for e in api.lineage(exec_id)]
    children = [e.to_dict(with_operations=False) for e in api.list(parent=exec_id, limit=500)]
    replays = [
        e.to_dict(with_operations=False)
        for e in api.list(limit=200)
        if e.original_exec_id == exec_id
    ]
    return _render(
        request,
        "execution.html",
        caller,
        e=data,
        pending=pending,
        logs=api.logs(exec_id),
        artifacts=artifacts,
        lineage=lineage,
        children=children,
        replays=replays,
        error=error,
    )


def _back(exec_id: str, error: str | None = None) -> RedirectResponse:
    target = f"/executions/{exec_id}" + (f"?error={quote(error)}" if error else "")
    return RedirectResponse(target, status_code=303)


@router.post("/executions/{exec_id}/answer")
async def answer_form(request: Request, exec_id: str, caller: PageCaller) -> Response:
    """Answer a pending wait from its form, then hand the execution off to continue."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_csrf(caller, form.get("csrf"))
    api = _api(request)
    from starlette.concurrency import run_in_threadpool

    def answer() -> None:
        waits = {w.wait_id: w for w in api.pending_waits(exec_id)}
        wait = waits.get(form.get("wait_id", ""))
        if wait is None:
            raise KitaruError("That wait is not pending any more.")
        api.input(exec_id, form_value(wait.schema, form), wait.wait_id)
        if api.get(exec_id).status == "queued":
            hand_off(api._store, api._settings, exec_id, "resume")

    try:
        await run_in_threadpool(answer)
    except (KitaruError, ValueError) as exc:
        return _back(exec_id, str(exc))
    return _back(exec_id)


@router.post("/executions/{exec_id}/action/{action}")
def action_form(
    request: Request,
    exec_id: str,
    action: str,
    caller: PageCaller,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Resume, retry or cancel from the execution page."""
    check_csrf(caller, csrf)
    api = _api(request)
    try:
        if action in ("resume", "retry"):
            hand_off(api._store, api._settings, exec_id, action)  # type: ignore[arg-type]
        elif action == "cancel":
            api.cancel(exec_id)
        else:
            raise HTTPException(404, detail=f"No action {action!r}.")
    except KitaruError as exc:
        return _back(exec_id, str(exc))
    return _back(exec_id)


@router.post("/executions/{exec_id}/replay")
def replay_form(
    request: Request,
    exec_id: str,
    caller: PageCaller,
    csrf: Annotated[str, Form()] = "",
    from_: Annotated[str, Form(alias="from")] = "",
    overrides: Annotated[str, Form()] = "",
) -> Response:
    """Replay from an operation with overrides (a JSON object) and open the new execution."""
    check_csrf(caller, csrf)
    api = _api(request)
    try:
        parsed = json.loads(overrides) if overrides.strip() else {}
        if not isinstance(parsed, dict):
            raise ValueError('Overrides must be a JSON object, e.g. {"checkpoint.NAME": 1}.')
        new_id = hand_off_replay(api._store, api._settings, exec_id, from_ or None, parsed, {})
    except (KitaruError, ValueError) as exc:
        return _back(exec_id, f"Replay refused: {exc}")
    return RedirectResponse(f"/executions/{new_id}", status_code=303)


def compare_operations(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """Operations of two executions side by side, matched by name and occurrence, each row
    saying whether its input or output differs."""

    def keyed(ops: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
        seen: dict[str, int] = {}
        out = {}
        for op in ops:
            n = seen[op["name"]] = seen.get(op["name"], 0) + 1
            out[(op["name"], n)] = op
        return out

    a, b = keyed(left["operations"]), keyed(right["operations"])
    rows = []
    for key in list(dict.fromkeys([*a, *b])):
        x, y = a.get(key), b.get(key)
        same = (
            x is not None
            and y is not None
            and x.get("output") == y.get("output")
            and x.get("input_text") == y.get("input_text")
            and x.get("status") == y.get("status")
        )
        rows.append({"name": key[0], "n": key[1], "left": x, "right": y, "same": same})
    return rows


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: str, b: str, caller: PageCaller) -> HTMLResponse:
    """Two executions side by side (an original and its replay): which operations differ."""
    api = _api(request)
    try:
        left, right = api.get(a), api.get(b)
    except KitaruError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
    ld = {**left.to_dict(), **left.value_fields()}
    rd = {**right.to_dict(), **right.value_fields()}
    rows = compare_operations(ld, rd)
    return _render(request, "compare.html", caller, left=ld, right=rd, rows=rows)
