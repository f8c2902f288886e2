"""A graph node's runnable made durable: each run inside a flow is one operation."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from kitaru_langgraph._node import arun_node, run_node


class DurableNodeRunnable(Runnable[Any, Any]):
    """Runs ``inner`` (a node's ``bound`` runnable) through :func:`run_node`."""

    def __init__(self, node: str, inner: Runnable[Any, Any], interrupt_timeout: float | None):
        self.node = node
        self.inner = inner
        self.interrupt_timeout = interrupt_timeout
        self.name = inner.get_name()

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run or reuse the node."""
        return run_node(
            self.node,
            input,
            config,
            lambda cfg: self.inner.invoke(input, cfg, **kwargs),
            interrupt_timeout=self.interrupt_timeout,
        )

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run or reuse the node (async)."""
        return await arun_node(
            self.node,
            input,
            config,
            lambda cfg: self.inner.ainvoke(input, cfg, **kwargs),
            interrupt_timeout=self.interrupt_timeout,
        )
