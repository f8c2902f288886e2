"""Handing off actions that run user code: the same hand-off the Kitaru server uses.

A worker stack queues the execution for a worker; a local stack starts a detached
``kitaru executions resume`` process. Never the MCP server's own process.
"""

from __future__ import annotations

from typing import Any, Literal

from kitaru_core.client import KitaruClient


def hand_off(client: KitaruClient, exec_id: str, action: Literal["resume", "retry"]) -> None:
    """Resume or retry ``exec_id`` elsewhere (a worker, or a detached process)."""
    from kitaru_core.client import hand_off as core_hand_off

    core_hand_off(client.store, client.settings, exec_id, action)


def hand_off_replay(
    client: KitaruClient,
    exec_id: str,
    from_: str | None,
    overrides: dict[str, Any],
    flow_kwargs: dict[str, Any],
) -> str:
    """Start a replay of ``exec_id`` elsewhere; returns the new execution's id."""
    from kitaru_core.client import hand_off_replay as core_hand_off_replay

    return core_hand_off_replay(
        client.store, client.settings, exec_id, from_, overrides, flow_kwargs
    )
