"""``DurableAgent``: a Pydantic AI agent whose model requests and tool calls survive crashes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Literal

from pydantic_ai import Agent
from pydantic_ai.agent import AbstractAgent, AgentRun, EventStreamHandler, WrapperAgent
from pydantic_ai.capabilities import AbstractCapability
from pydantic_ai.models import Model
from pydantic_ai.output import OutputDataT
from pydantic_ai.tools import AgentDepsT

from kitaru_core import toolkit
from kitaru_core.errors import KitaruError
from kitaru_pydantic_ai import _autoflow
from kitaru_pydantic_ai._capability import KitaruDurability
from kitaru_pydantic_ai._identity import jsonable
from kitaru_pydantic_ai._model import add_run_usage
from kitaru_pydantic_ai._tools import DEFAULT_TIMEOUT, ApprovingDurability

Strategy = Literal["calls", "turn"]
STRATEGIES: tuple[str, ...] = ("calls", "turn")
_method: ContextVar[str | None] = ContextVar("kitaru_pydantic_ai_method", default=None)


def _model_key(model: Model) -> str:
    return f"{model.system}:{model.model_name}"


def answers_deferred_calls(agent: AbstractAgent[Any, Any]) -> bool:
    """Whether one of the agent's capabilities answers deferred tool calls itself."""
    found: list[AbstractCapability[Any]] = []
    default = AbstractCapability.handle_deferred_tool_calls

    def visit(capability: AbstractCapability[Any]) -> None:
        if type(capability).handle_deferred_tool_calls is not default:
            found.append(capability)

    agent.root_capability.apply(visit)
    return bool(found)


def _chosen_strategy(strategy: Strategy | None, checkpoint_strategy: Strategy | None) -> Strategy:
    """``strategy=``, or its alias ``checkpoint_strategy=`` (the name Kitaru's docs use)."""
    if strategy is not None and checkpoint_strategy is not None and strategy != checkpoint_strategy:
        raise KitaruError(
            f"DurableAgent got strategy={strategy!r} and checkpoint_strategy="
            f"{checkpoint_strategy!r}: they are the same option, pass only one."
        )
    return strategy or checkpoint_strategy or "calls"


class DurableAgent(WrapperAgent[AgentDepsT, OutputDataT]):
    """Wraps a Pydantic AI agent so each run is durable.

    ``strategy="calls"`` (default) records every model request (streamed ones too), function-tool
    call and MCP call as its own operation; ``"turn"`` records a whole ``run()`` as one. Tools
    that require approval are answered through ``kitaru.wait()`` (unless the agent has its own
    capability for deferred calls, such as ``RequestInput``, whose waits are Kitaru waits too).
    Run it inside a ``@flow``, or on its own: then each run opens an execution of its own.
    ``checkpoint_strategy=`` is an alias of ``strategy=``.
    """

    def __init__(
        self,
        wrapped: AbstractAgent[AgentDepsT, OutputDataT],
        *,
        name: str | None = None,
        strategy: Strategy | None = None,
        models: Mapping[str, Model] | None = None,
        event_stream_handler: EventStreamHandler[AgentDepsT] | None = None,
        approvals: bool = True,
        approval_timeout: float | None = DEFAULT_TIMEOUT,
        checkpoint_strategy: Strategy | None = None,
    ) -> None:
        super().__init__(wrapped)
        strategy = _chosen_strategy(strategy, checkpoint_strategy)
        durable_name = name or wrapped.name
        if not durable_name:
            raise KitaruError(
                "DurableAgent needs a name that identifies its operations: "
                "Agent(..., name='researcher') or DurableAgent(agent, name='researcher')."
            )
        if strategy not in STRATEGIES:
            raise KitaruError(
                f"DurableAgent strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}."
            )
        self.durable_name: str = durable_name
        self.strategy: Strategy = strategy
        self.approvals = approvals and not answers_deferred_calls(wrapped)
        self.approval_timeout = approval_timeout
        self._models = dict(models or {})
        self._event_stream_handler = event_stream_handler
        self.origin: toolkit.Origin = toolkit.caller_origin()
        _autoflow.register_agent(self)

    def __repr__(self) -> str:
        return f"DurableAgent({self.durable_name!r}, strategy={self.strategy!r})"

    # --- capabilities added to each run -----------------------------------------------------

    def durability(self, model: Any = None) -> KitaruDurability[AgentDepsT]:
        """The capability for one run; a per-run ``Model`` instance is registered with it.

        With ``approvals``, it also answers tool approvals (:class:`ApprovingDurability`).
        """
        models = dict(self._models)
        if isinstance(model, Model) and not any(m is model for m in models.values()):
            models[_model_key(model)] = model
        options: dict[str, Any] = {
            "name": self.durable_name,
            "models": models or None,
            "event_stream_handler": self._event_stream_handler,
            "wait_timeout": self.approval_timeout,
        }
        if self.approvals:
            return ApprovingDurability(approval_timeout=self.approval_timeout, **options)
        return KitaruDurability(**options)

    def _capabilities(self, extra: Any, model: Any) -> list[Any]:
        return [*(extra or []), self.durability(model)]

    # --- the run methods --------------------------------------------------------------------

    @asynccontextmanager
    async def iter(
        self,
        user_prompt: Any = None,
        *,
        model: Any = None,
        capabilities: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[AgentRun[AgentDepsT, Any]]:
        """``Agent.iter``: inside a flow its units are recorded; outside one it opens a flow."""
        if not toolkit.in_flow():
            method = _method.get() or "iter"
            options = {"model": model, "capabilities": capabilities, **kwargs}
            options = {k: v for k, v in options.items() if v is not None}
            with _autoflow.open_execution(self, method, user_prompt, options) as outcome:
                async with self.iter(user_prompt, **options) as agent_run:
                    yield agent_run
                outcome.value = agent_run.result
            return
        inside_operation = toolkit.in_operation()
        if self.strategy == "turn" and not inside_operation:
            raise KitaruError(
                f"DurableAgent {self.durable_name!r} uses strategy='turn', which records whole "
                "runs: use run() or run_sync(), or strategy='calls' for iter() and run_stream()."
            )
        async with self.wrapped.iter(
            user_prompt,
            model=model,
            capabilities=self._capabilities(capabilities, model),
            **kwargs,
        ) as agent_run:
            yield agent_run
        if inside_operation and agent_run.result is not None:
            add_run_usage(agent_run.result.new_messages())

    async def run(self, user_prompt: Any = None, **kwargs: Any) -> Any:
        """``Agent.run``, durable (see the class docstring)."""
        if not toolkit.in_flow():
            options = {k: v for k, v in kwargs.items() if v is not None}
            return await _autoflow.run_automatic(self, "run", user_prompt, options)
        if self.strategy == "turn" and not toolkit.in_operation():
            return await self._run_turn(user_prompt, kwargs)
        return await super().run(user_prompt, **kwargs)

    @asynccontextmanager
    async def run_stream(self, user_prompt: Any = None, **kwargs: Any) -> AsyncIterator[Any]:
        """``Agent.run_stream``; inside a flow each request's recorded response is streamed."""
        token = _method.set("run_stream")
        try:
            async with super().run_stream(user_prompt, **kwargs) as streamed:
                yield streamed
        finally:
            _method.reset(token)

    async def _run_turn(self, user_prompt: Any, kwargs: dict[str, Any]) -> Any:
        model = kwargs.get("model")
        inputs = {
            "user_prompt": jsonable(user_prompt),
            "message_history": jsonable(kwargs.get("message_history")),
            "deferred_tool_results": jsonable(kwargs.get("deferred_tool_results")),
            "model": _model_key(model) if isinstance(model, Model) else model,
            "instructions": jsonable(kwargs.get("instructions")),
            "output_type": repr(kwargs.get("output_type")),
        }
        run_wrapped = super().run

        async def call() -> Any:
            return await run_wrapped(user_prompt, **kwargs)

        return await toolkit.arun_operation(
            f"{self.durable_name}__run", call, kind="agent", inputs=inputs
        )

    async def run_again(self, method: str, user_prompt: Any, options: dict[str, Any]) -> Any:
        """Run a stored automatic call again (the body of its flow); returns the run result."""
        if method == "run":
            return await self.run(user_prompt, **options)
        async with self.iter(user_prompt, **options) as agent_run:
            async for node in agent_run:
                if method == "run_stream" and Agent.is_model_request_node(node):
                    async with node.stream(agent_run.ctx) as stream:
                        async for _ in stream:
                            pass
        return agent_run.result


KitaruAgent = DurableAgent
"""Alias of :class:`DurableAgent`."""
