"""A Claude agent that writes release notes, survives crashes and asks before it publishes.

Offline (a fake ``claude`` executable plays scripted turns; no key, no network):

    python examples/claude_agent.py --offline
    python examples/claude_agent.py --offline --crash     # the CLI kills this process mid-way
    kitaru executions resume <ID>                         # continues that CLI session
    python examples/claude_agent.py --offline --publish   # waits for your permission
    kitaru executions input <ID> --value '{"allow": true}' && kitaru executions resume <ID>

For real (the Claude Code CLI bundled with the SDK, signed in or with a key):

    ANTHROPIC_API_KEY=sk-ant-... python examples/claude_agent.py [--publish]

Each ``durable_query`` is one durable invocation: a resumed execution replays the completed ones
(the CLI does not start, the ``list_changes`` tool does not run again) and continues the
interrupted one in its own CLI session. Needs ``pip install 'kitaru[claude-agent-sdk]'``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, create_sdk_mcp_server, tool

import kitaru
from kitaru import toolkit
from kitaru.adapters.claude_agent_sdk import ask_permission, durable_query

# list_changes is allowed outright; only other tools (Bash, to publish) reach the permission prompt.
warnings.filterwarnings("ignore", message="can_use_tool will not be invoked for: mcp__repo__")

FAKE_CLAUDE = Path(__file__).resolve().parents[1] / "tests" / "adapters" / "fake_claude" / "claude"
CHANGES = ["resume continues a crashed Claude session", "permission prompts wait for a human"]


@tool("list_changes", "The changes merged since the last release", {})
async def list_changes(args: dict[str, Any]) -> dict[str, Any]:
    print("  (tool) listing changes")
    return {"content": [{"type": "text", "text": json.dumps(CHANGES)}]}


def fake_script(crash: bool) -> dict[str, Any]:
    """What the fake CLI plays: two invocations, the second one killed once with --crash."""
    marker = Path(tempfile.gettempdir()) / f"claude-example-{toolkit.current_execution_id()}"
    write: list[dict[str, Any]] = [{"text": "Drafting the notes."}]
    if crash:
        write.append({"kill_parent_once": str(marker), "delay": 0.5})
    write.append({"text": "## Release notes\n" + "\n".join(f"- {c}" for c in CHANGES)})
    return {
        "model": "claude-sonnet-4-5",
        "turns": {
            "Which changes were merged since the last release?": [
                {"tool": "list_changes", "server": "repo", "input": {}},
                {"text": f"{len(CHANGES)} changes were merged."},
            ],
            "Write release notes for those changes.": write,
            "Publish the release notes.": [
                {"permission": "Bash", "input": {"command": "gh release create v1.1"}},
                {"text": "Published v1.1."},
            ],
        },
    }


def options(offline: bool, crash: bool, publish: bool) -> ClaudeAgentOptions:
    repo = create_sdk_mcp_server("repo", tools=[list_changes])
    chosen = ClaudeAgentOptions(
        mcp_servers={"repo": repo},
        allowed_tools=["mcp__repo__list_changes"],
        max_turns=8,
        can_use_tool=ask_permission(timeout=5) if publish else None,
    )
    if offline:
        script = Path(tempfile.mkdtemp()) / "script.json"
        script.write_text(json.dumps(fake_script(crash)))
        chosen.cli_path = str(FAKE_CLAUDE)
        # the fake's transcripts go to a scratch config dir, not ~/.claude
        config = Path(tempfile.gettempdir()) / "kitaru-claude-example"
        chosen.env = {"FAKE_CLAUDE_SCRIPT": str(script), "CLAUDE_CONFIG_DIR": str(config)}
    return chosen


@kitaru.flow
async def release_notes(offline: bool = False, crash: bool = False, publish: bool = False) -> str:
    print(f"execution {toolkit.current_execution_id()} (kitaru executions resume it after a crash)")
    opts = options(offline, crash, publish)
    prompts = [
        "Which changes were merged since the last release?",
        "Write release notes for those changes.",
    ]
    if publish:
        prompts.append("Publish the release notes.")
    answer = ""
    for prompt in prompts:
        print(f"> {prompt}")
        async for message in durable_query(prompt, opts):
            if isinstance(message, ResultMessage):
                answer = message.result or ""
                print(f"  {answer}  (${message.total_cost_usd or 0:.4f})")
    return answer


if __name__ == "__main__":
    import asyncio

    flags = set(sys.argv[1:])
    try:
        asyncio.run(
            release_notes(
                offline="--offline" in flags, crash="--crash" in flags, publish="--publish" in flags
            )
        )
    except kitaru.ExecutionSuspended as exc:
        print(exc)
        sys.exit(0)
    latest = kitaru.KitaruClient().executions.latest()
    print(f"execution {latest.exec_id}: spent ${latest.cost_spent:.4f}")
