"""Server API and auth (issue 13): every /api path needs a live token, every client action
has an endpoint, flows run through ``kitaru.connect`` with artifacts going through the
server, and no token shows up in logs or answers."""

from __future__ import annotations

import os
import stat
import time
from typing import Any

import httpx
import pytest
from server_flows import BIG, fan, shout, write
from server_helpers import Served
from typer.testing import CliRunner

from kitaru_core import _config
from kitaru_core.client import KitaruClient
from kitaru_core.errors import ConfigurationError, ExecutionNotFound
from kitaru_core.server._serve import serve
from kitaru_core.server._tokens import check_token, create_token, revoke_token

pytestmark = pytest.mark.slow  # the server hands resumes off to real processes


def _paths(served: Served) -> list[tuple[str, str]]:
    spec = httpx.get(f"{served.url}/openapi.json").json()
    found = [
        (method.upper(), path.replace("{", "").replace("}", ""))
        for path, methods in spec["paths"].items()
        for method in methods
    ]
    internal = [("POST", "/api/store/get_execution"), ("PUT", "/api/blobs")]
    return [p for p in found if p[1].startswith("/api")] + internal


def test_every_api_path_refuses_a_missing_wrong_or_revoked_token(served: Served) -> None:
    record, revoked = create_token(served.store, "soon revoked")
    revoke_token(served.store, record.token_id)
    paths = _paths(served)
    assert len(paths) >= 15
    wrong = ({}, {"Authorization": "Bearer kitaru_x_y"}, {"Authorization": f"Bearer {revoked}"})
    with httpx.Client(base_url=served.url) as client:
        for method, path in paths:
            for headers in wrong:
                answer = client.request(method, path, headers=headers, json={})
                assert answer.status_code == 401, (method, path, headers, answer.text)
    for public in ("/openapi.json", "/health", "/login"):
        assert httpx.get(served.url + public).status_code == 200
    assert check_token(served.store, revoked) is None
    assert check_token(served.store, served.token) is not None


def _settle(served: Served, exec_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = httpx.get(f"{served.url}/api/executions/{exec_id}", headers=served.headers).json()
        if data["status"] in ("completed", "failed", "waiting", "cancelled"):
            return data  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, data
        time.sleep(0.2)


def test_a_flow_runs_through_the_server_and_a_webhook_resumes_it(connected: Served) -> None:
    served = connected
    answers: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = httpx.request(method, served.url + path, headers=served.headers, **kwargs)
        answers.append(answer.text)
        return answer

    handle = write.run("kites")
    client = KitaruClient()
    assert client.settings.stack.store_url.startswith("kitaru+http://")
    assert handle.exec_id in [e.exec_id for e in client.executions.list()]
    assert client.artifacts.latest(handle.exec_id, "big").load() == BIG  # a blob, via the server

    listed = call("GET", "/api/executions", params={"status": "waiting"}).json()
    assert handle.exec_id in [e["exec_id"] for e in listed]
    detail = call("GET", f"/api/executions/{handle.exec_id}").json()
    assert [op["name"] for op in detail["operations"]][:1] == ["draft"]
    pending = call("GET", f"/api/executions/{handle.exec_id}/waits", params={"pending": 1})
    assert pending.json()[0]["schema"] == {"type": "boolean"}
    bad = call("POST", f"/api/executions/{handle.exec_id}/waits/approve/answer", json="yes")
    assert bad.status_code == 422 and "approve" in bad.json()["detail"]

    answered = call("POST", f"/api/executions/{handle.exec_id}/waits/approve/answer", json=True)
    assert answered.status_code == 200, answered.text
    done = _settle(served, handle.exec_id)
    assert done["status"] == "completed" and done["result"] == "ABOUT KITES"

    logs = call("GET", f"/api/executions/{handle.exec_id}/logs").json()
    assert "drafting about kites" in [line["line"] for line in logs]
    assert any(line["stream"] == "progress" for line in logs)
    artifacts = call("GET", "/api/artifacts", params={"exec_id": handle.exec_id}).json()
    value = call("GET", f"/api/artifacts/{artifacts[0]['artifact_id']}/value").json()
    assert value["value"] == BIG

    replay = call(
        "POST",
        f"/api/executions/{handle.exec_id}/replay",
        json={"from": "polish", "overrides": {"wait.approve": False}},
    )
    assert replay.status_code == 202, replay.text
    new_id = replay.json()["exec_id"]
    assert _settle(served, new_id)["result"] == "rejected"
    lineage = call("GET", f"/api/executions/{new_id}/lineage").json()
    assert [e["exec_id"] for e in lineage] == [new_id, handle.exec_id]
    refused = call(
        "POST", f"/api/executions/{handle.exec_id}/replay", json={"overrides": {"nope": 1}}
    )
    assert refused.status_code == 422
    assert call("POST", f"/api/executions/{handle.exec_id}/retry").status_code == 409
    assert call("GET", "/api/executions/kr-nope").status_code == 404

    again = write.run("cancel me")
    cancelled = call("POST", f"/api/executions/{again.exec_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"

    # Nothing secret: neither the token nor its digest in any answer or in the server's logs.
    digest = served.store.list_tokens()[0].digest
    for text in [*answers, *served.logs.lines]:
        assert served.token not in text and digest not in text
    assert any("/api/executions" in line for line in served.logs.lines)  # logs were captured


def test_child_executions_show_their_links_through_the_server(connected: Served) -> None:
    # Fan-out through kitaru.connect: the parent and its children are recorded by the server's
    # store; its API lists the children of a parent and links both ways; the page links them.
    served = connected
    assert fan(["a", "b"]) == ["A", "B"]
    [parent] = KitaruClient().executions.list(flow="fan", limit=1)

    def get(path: str, **params: Any) -> Any:
        answer = httpx.get(served.url + path, headers=served.headers, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    children = get("/api/executions", parent=parent.exec_id)
    assert sorted(c["flow_name"] for c in children) == ["shout", "shout"]
    assert {c["parent_id"] for c in children} == {parent.exec_id}
    detail = get(f"/api/executions/{parent.exec_id}")
    assert sorted(detail["children"]) == sorted(c["exec_id"] for c in children)
    assert detail["parent_id"] is None
    with httpx.Client(base_url=served.url) as browser:  # pages sign in with a session cookie
        browser.post("/login", data={"token": served.token, "next": "/"})
        page = browser.get(f"/executions/{parent.exec_id}")
        assert page.status_code == 200, page.text
        for child in children:
            assert f'href="/executions/{child["exec_id"]}"' in page.text
        child_page = browser.get(f"/executions/{children[0]['exec_id']}")
        assert f'id="parent-link" href="/executions/{parent.exec_id}"' in child_page.text


def test_a_deployment_is_invoked_by_name_over_http(connected: Served) -> None:
    # Another service starts a published flow with one call: the server hands it to a
    # detached process (user code never runs in the request), which runs the snapshot.
    served = connected
    deployed = KitaruClient().deployments.deploy(shout, name="shouter")

    def post(path: str, body: Any) -> httpx.Response:
        return httpx.post(served.url + path, headers=served.headers, json=body)

    listed = httpx.get(served.url + "/api/deployments", headers=served.headers).json()
    assert [(d["name"], d["version"], d["tags"]) for d in listed] == [
        ("shouter", deployed.version, ["default"])
    ]
    started = post("/api/deployments/shouter/invoke", {"args": {"word": "hey"}})
    assert started.status_code == 202, started.text
    done = _settle(served, started.json()["exec_id"])
    assert done["status"] == "completed" and done["result"] == "HEY"
    assert done["deployment"] == "shouter" and done["deployment_version"] == deployed.version

    bad_args = post("/api/deployments/shouter/invoke", {"args": {"nope": 1}})
    assert bad_args.status_code == 422 and "Nothing ran" in bad_args.json()["detail"]
    unknown = post("/api/deployments/nobody/invoke", {})
    assert unknown.status_code == 404 and "shouter" in unknown.json()["detail"]


def test_logs_follow_prints_lines_and_progress_over_sse(connected: Served) -> None:
    from kitaru_core.cli import app

    handle = write.run("streams")
    result = CliRunner().invoke(app, ["executions", "logs", handle.exec_id, "--follow"])
    assert result.exit_code == 0, result.output
    assert "drafting about streams" in result.output
    assert "▸ drafting (topic=streams)" in result.output


def test_token_cli_and_login(served: Served, kitaru_home: Any, monkeypatch: Any) -> None:
    from kitaru_core.cli import app

    monkeypatch.setenv("KITARU_STORE_URL", f"sqlite:///{served.home / 'kitaru.db'}")
    runner = CliRunner()
    created = runner.invoke(app, ["server", "token", "create", "--name", "laptop"])
    assert created.exit_code == 0, created.output
    token = created.stdout.split()[-1]
    assert check_token(served.store, token) is not None
    listed = runner.invoke(app, ["server", "token", "list", "--json"])
    assert "laptop" in listed.stdout and token not in listed.stdout
    monkeypatch.delenv("KITARU_STORE_URL")
    _config.reset_cache()

    logged = runner.invoke(app, ["login", served.url, "--token", token])
    assert logged.exit_code == 0, logged.output
    credentials = kitaru_home / "credentials.json"
    assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
    assert token not in logged.output
    client = KitaruClient()
    assert client.settings.stack.store_url == "kitaru+" + served.url
    assert client.executions.list(limit=500) is not None

    # The server's plain URL works as a store URL too, with KITARU_SERVER_TOKEN; the server's
    # errors come back as the same Kitaru errors.
    monkeypatch.setenv("KITARU_SERVER_TOKEN", served.token)
    plain = KitaruClient(store_url=served.url, artifact_url=f"kitaru+{served.url}")
    with pytest.raises(ExecutionNotFound, match="kr-nope"):
        plain.executions.get("kr-nope")
    monkeypatch.delenv("KITARU_SERVER_TOKEN")

    token_id = token.split("_")[1]
    # The active stack is now the server, whose store keeps no tokens: refused, not revoked.
    assert runner.invoke(app, ["server", "token", "revoke", token_id]).exit_code != 0
    monkeypatch.setenv("KITARU_STORE_URL", f"sqlite:///{served.home / 'kitaru.db'}")
    _config.reset_cache()
    assert runner.invoke(app, ["server", "token", "revoke", token_id]).exit_code == 0
    assert check_token(served.store, token) is None


def test_no_auth_is_refused_off_loopback(served: Served) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        serve(served.settings, host="0.0.0.0", port=1, auth=False)
