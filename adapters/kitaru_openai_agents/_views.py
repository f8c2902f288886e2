"""Durable views of an agent graph, and the run scope that hands them to every run.

A run never changes the user's agents. It runs *views*: clones whose ``Model`` instances are
:class:`DurableModel` and whose function tools are durable, reached through handoffs too.
Agents whose model is a name get a durable model from the run's wrapped ``ModelProvider``.
Agents run as tools start runs of their own (``Runner.run`` inside the tool); while a durable
run is in progress, the SDK's default runner (wrapped once, see :func:`install`) swaps their
agent for its view, so their model calls and tool calls are durable operations too.
"""

from __future__ import annotations

import dataclasses
from contextvars import ContextVar
from typing import Any

from agents import Agent, FunctionTool, Handoff, RunConfig
from agents.models.interface import Model
from agents.run import AgentRunner, get_default_agent_runner, set_default_agent_runner

from kitaru_openai_agents._identity import current_agent
from kitaru_openai_agents._model import DurableModel, DurableModelProvider
from kitaru_openai_agents._tools import durable_tool

VIEW = "_kitaru_view_of"
"""Attribute a view carries: the agent it was made from."""


class Scope:
    """The views and run configurations of one durable run (and the runs nested in it)."""

    def __init__(self) -> None:
        self._views: dict[int, tuple[Agent[Any], Agent[Any]]] = {}
        self._configs: dict[int, tuple[Any, RunConfig]] = {}

    def view(self, agent: Agent[Any]) -> Agent[Any]:
        """The durable view of ``agent`` (one per agent in a scope; handoff cycles welcome)."""
        if getattr(agent, VIEW, None) is not None:
            return agent
        found = self._views.get(id(agent))
        if found is not None:
            return found[1]
        view = agent.clone()
        self._views[id(agent)] = (agent, view)
        setattr(view, VIEW, agent)
        if isinstance(agent.model, Model) and not isinstance(agent.model, DurableModel):
            view.model = DurableModel(agent.model, agent_name=agent.name)
        view.tools = [self._tool(tool) for tool in agent.tools]
        view.handoffs = [self._handoff(handoff) for handoff in agent.handoffs]
        return view

    def _tool(self, tool: Any) -> Any:
        if isinstance(tool, FunctionTool) and not tool._is_agent_tool:
            return durable_tool(tool)
        return tool  # an agent run as a tool: its own run is made durable by the runner

    def _handoff(self, handoff: Any) -> Any:
        if isinstance(handoff, Agent):
            return self.view(handoff)
        if isinstance(handoff, Handoff):
            original = handoff.on_invoke_handoff

            async def invoke(ctx: Any, arguments: str) -> Any:
                return self.view(await original(ctx, arguments))

            return dataclasses.replace(handoff, on_invoke_handoff=invoke)
        return handoff

    def config(self, run_config: RunConfig | dict[str, Any] | None) -> RunConfig:
        """``run_config`` with a durable model provider (and model), and the agent tracker."""
        found = self._configs.get(id(run_config))
        if found is not None and found[0] is run_config:
            return found[1]
        if isinstance(run_config, RunConfig):
            config = run_config
        else:
            config = RunConfig(**(run_config or {}))
        if getattr(config, VIEW, False):
            return config
        provider = config.model_provider
        changes: dict[str, Any] = {
            "call_model_input_filter": _tracking(config.call_model_input_filter),
        }
        if not isinstance(provider, DurableModelProvider):
            changes["model_provider"] = DurableModelProvider(provider)
        if isinstance(config.model, Model) and not isinstance(config.model, DurableModel):
            changes["model"] = DurableModel(config.model)
        prepared = dataclasses.replace(config, **changes)
        setattr(prepared, VIEW, True)
        self._configs[id(run_config)] = (run_config, prepared)
        return prepared

    def prepare(self, agent: Agent[Any], options: dict[str, Any]) -> tuple[Agent[Any], dict]:
        """The view of ``agent`` and run options with a prepared ``run_config``."""
        prepared = dict(options)
        prepared["run_config"] = self.config(options.get("run_config"))
        return self.view(agent), prepared


def _tracking(user_filter: Any) -> Any:
    """A ``call_model_input_filter`` that notes which agent's request comes next, then runs
    the user's own filter (if any)."""

    def track(data: Any) -> Any:
        current_agent.set(data.agent.name)
        if user_filter is None:
            return data.model_data
        return user_filter(data)

    return track


scope: ContextVar[Scope | None] = ContextVar("kitaru_openai_agents_scope", default=None)
"""The scope of the durable run in progress in this context, if any."""


class ScopedRunner(AgentRunner):
    """The SDK's default runner, wrapped: inside a durable run, nested runs (agents run as
    tools) run the durable view of their agent. Anywhere else it changes nothing."""

    def __init__(self, wrapped: AgentRunner) -> None:
        self.wrapped = wrapped

    def _prepared(self, agent: Agent[Any], options: dict[str, Any]) -> tuple[Agent[Any], dict]:
        current = scope.get()
        return (agent, options) if current is None else current.prepare(agent, options)

    async def run(self, starting_agent: Agent[Any], input: Any, **kwargs: Any) -> Any:
        agent, options = self._prepared(starting_agent, kwargs)
        return await self.wrapped.run(agent, input, **options)

    def run_sync(self, starting_agent: Agent[Any], input: Any, **kwargs: Any) -> Any:
        agent, options = self._prepared(starting_agent, kwargs)
        return self.wrapped.run_sync(agent, input, **options)

    def run_streamed(self, starting_agent: Agent[Any], input: Any, **kwargs: Any) -> Any:
        agent, options = self._prepared(starting_agent, kwargs)
        return self.wrapped.run_streamed(agent, input, **options)


def install() -> None:
    """Wrap the SDK's default runner once (idempotent)."""
    current = get_default_agent_runner()
    if not isinstance(current, ScopedRunner):
        set_default_agent_runner(ScopedRunner(current))
