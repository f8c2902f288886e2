"""``kitaru.invoke``: start a published flow by name, from any process, without its source."""

from __future__ import annotations

from typing import Any

from kitaru_core.client import KitaruClient
from kitaru_core.client._handle import FlowHandle


def invoke(
    flow: str,
    args: dict[str, Any] | None = None,
    *,
    tag: str | None = None,
    version: int | str | None = None,
    stack: str | None = None,
) -> FlowHandle:
    """Start an execution of deployment ``flow`` with keyword ``args``, running the version
    that ``tag`` (``default`` if neither is given) or ``version`` selects; ``.wait()`` on the
    handle gives its result. See ``KitaruClient().deployments.invoke``."""
    client = KitaruClient(stack)
    return client.deployments.invoke(flow, args, tag=tag, version=version)
