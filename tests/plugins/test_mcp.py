"""`kitaru mcp` (issue 14), driven by the MCP SDK's own client over stdio.

The server runs as a real `python -m kitaru mcp` process on the test's stack; resume and replay
are handed off to detached `kitaru executions ...` processes, so the flow completes elsewhere.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="needs kitaru[mcp]")

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from typer.testing import CliRunner

import kitaru
from kitaru_core.cli import app
from kitaru_core.errors import ExecutionNotFound
from kitaru_core.plugins import list_plugins

pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TOOLS = {
    "list_executions",
    "get_execution",
    "execution_logs",
    "pending_waits",
    "answer_wait",
    "resume",
    "retry",
    "replay",
    "cancel",
    "list_artifacts",
    "get_artifact",
    "list_deployments",
    "invoke_deployment",
}


def _flows() -> Any:
    spec = importlib.util.spec_from_file_location("mcp_flows", SCRIPTS / "mcp_flows.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcp_flows"] = module
    spec.loader.exec_module(module)
    return module


class Session:
    """Calls over one MCP client session; structured results, or the error text."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        return dict(result.structured_content)

    async def error(self, tool: str, **arguments: Any) -> str:
        result = await self.client.call_tool(tool, arguments)
        assert result.is_error
        return str(result.content[0].text)  # type: ignore[union-attr]

    async def until(self, exec_id: str, status: str, timeout: float = 40) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = await self.call("get_execution", exec_id=exec_id)
            if record["status"] == status or time.monotonic() > deadline:
                assert record["status"] == status, record
                return record
            await asyncio.sleep(0.2)


def test_the_plugin_is_listed_as_an_entry_point() -> None:
    info = next(p for p in list_plugins() if p.name == "mcp")
    assert (info.source, info.hooks, info.missing) == ("entry point", ["register_commands"], [])


JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_mcp_page_configs_start_this_server() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs/integrations/mcp.md").read_text()
    stdio, http = (json.loads(block)["mcpServers"]["kitaru"] for block in JSON_BLOCK.findall(page))
    assert (stdio["command"], stdio["args"][0]) == ("kitaru", "mcp")
    result = CliRunner().invoke(app, [*stdio["args"][:1], "--help"])
    assert result.exit_code == 0 and "--stack" in result.output and "--http" in result.output
    assert http["url"].endswith(":8390/mcp")  # the default port and the SDK's path


def test_http_needs_a_token() -> None:
    result = CliRunner().invoke(app, ["mcp", "--http"], env={"KITARU_MCP_TOKEN": ""})
    assert result.exit_code == 1
    assert "`kitaru mcp --http` needs a token" in result.output


def test_http_refuses_a_request_without_the_token() -> None:
    from kitaru_mcp._http import http_app
    from kitaru_mcp._server import build_server
    from starlette.testclient import TestClient

    server = build_server(kitaru.KitaruClient())
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    with TestClient(http_app(server, "s3cret"), base_url="http://127.0.0.1:8390") as http:
        for sent in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            refused = http.post("/mcp", json=hello, headers={**headers, **sent})
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
        accepted = http.post(
            "/mcp", json=hello, headers={**headers, "Authorization": "Bearer s3cret"}
        )
        assert accepted.status_code == 200, accepted.text


def test_an_agent_lists_answers_resumes_and_replays_over_stdio(
    subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    flows = _flows()
    deployed = kitaru.KitaruClient().deployments.deploy(flows.approval_flow, name="approver")
    waiting = flows.approval_flow.run("durability")
    to_cancel = flows.approval_flow.run("cancelling")
    assert waiting.status == to_cancel.status == "waiting"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "kitaru", "mcp"], env=subprocess_env, cwd=tmp_path
    )

    async def story() -> None:
        async with Client(params) as client:
            mcp = Session(client)
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == TOOLS
            for tool in tools.values():
                assert tool.input_schema["type"] == "object"
                assert tool.output_schema is not None and tool.output_schema["type"] == "object"
            assert set(tools["replay"].input_schema["properties"]) == {
                "exec_id",
                "from_",
                "overrides",
                "flow_kwargs",
            }

            listed = await mcp.call("list_executions", status="waiting")
            assert [e["exec_id"] for e in listed["executions"]] == [
                to_cancel.exec_id,
                waiting.exec_id,
            ]
            cancelled = await mcp.call("cancel", exec_id=to_cancel.exec_id)
            assert cancelled["status"] == "cancelled"
            (wait,) = (await mcp.call("pending_waits", exec_id=waiting.exec_id))["waits"]
            assert (wait["name"], wait["question"]) == ("approve", "Publish the draft?")
            assert wait["answer_schema"] == {"type": "boolean"}

            wrong = await mcp.error("answer_wait", exec_id=waiting.exec_id, value="soon")
            assert "soon" in wrong and "approve" in wrong  # the CLI's message, nothing stored
            answered = await mcp.call("answer_wait", exec_id=waiting.exec_id, value=True)
            assert answered["status"] == "answered"

            handed = await mcp.call("resume", exec_id=waiting.exec_id)
            assert handed["action"] == "resume" and "Handed off" in handed["note"]
            done = await mcp.until(waiting.exec_id, "completed")
            assert done["record"]["result"] == "notes on durability (published)"
            ops = {op["name"]: op for op in done["record"]["operations"]}
            assert ops["research"]["reused"] is True and ops["write"]["reused"] is False

            logs = await mcp.call("execution_logs", exec_id=waiting.exec_id)
            assert [line["line"] for line in logs["lines"]] == [
                "writing from 'notes on durability'"
            ]
            (artifact,) = (await mcp.call("list_artifacts", exec_id=waiting.exec_id))["artifacts"]
            value = await mcp.call("get_artifact", artifact_id=artifact["artifact_id"])
            assert value["value"] == {"notes": "notes on durability", "approved": True}

            resource = await client.read_resource(f"kitaru://executions/{waiting.exec_id}")
            record = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
            assert (record["exec_id"], record["status"]) == (waiting.exec_id, "completed")

            replayed = await mcp.call(
                "replay",
                exec_id=waiting.exec_id,
                from_="write",
                overrides={"checkpoint.research": "edited notes", "wait.approve": False},
            )
            assert replayed["exec_id"] != waiting.exec_id
            again = await mcp.until(replayed["exec_id"], "completed")
            assert again["record"]["result"] == "edited notes (held)"
            assert again["record"]["original_exec_id"] == waiting.exec_id

            # Another agent starts a published flow by name; it runs its pinned snapshot.
            (listed_deployment,) = (await mcp.call("list_deployments"))["deployments"]
            assert (listed_deployment["name"], listed_deployment["version"]) == (
                "approver",
                deployed.version,
            )
            invoked = await mcp.call("invoke_deployment", name="approver", args={"topic": "mcp"})
            assert invoked["action"] == "invoke"
            asked = await mcp.until(invoked["exec_id"], "waiting")
            assert asked["record"]["deployment"] == "approver"
            bad = await mcp.error("invoke_deployment", name="approver", args={"nope": 1})
            assert "Nothing ran" in bad

            # Errors are tool errors with the CLI's messages.
            # (The SDK puts "Error executing tool NAME: " before the message.)
            missing = await mcp.error("get_execution", exec_id="kr-nope")
            assert missing.endswith(f"get_execution: {ExecutionNotFound('kr-nope')}")
            not_waiting = await mcp.error("answer_wait", exec_id=waiting.exec_id, value=True)
            assert f"answer_wait: Execution {waiting.exec_id}" in not_waiting
            cannot = await mcp.error("retry", exec_id=waiting.exec_id)
            assert f"retry: Cannot retry execution {waiting.exec_id}: it is completed" in cannot

    asyncio.run(story())
    # Nothing ran in the MCP server: each action ran in a detached process, which logged it.
    logs = sorted(p.name for p in (Path(subprocess_env["KITARU_HOME"]) / "logs").iterdir())
    assert f"{waiting.exec_id}-resume.log" in logs and len(logs) == 3
    assert kitaru.KitaruClient().executions.get(waiting.exec_id).status == "completed"
