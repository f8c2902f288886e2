"""``DurableRunner``: the SDK's ``Runner`` for one agent, whose runs survive crashes."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from agents import Agent, RunConfig, Runner, trace
from agents.result import RunResult, RunResultStreaming
from agents.tracing import get_current_trace

from kitaru_core import toolkit
from kitaru_core.errors import KitaruError
from kitaru_openai_agents import _autoflow, _session, _views
from kitaru_openai_agents._tools import DEFAULT_TIMEOUT, answer_approvals

EXECUTION_KEY = "kitaru.execution_id"
ATTEMPT_KEY = "kitaru.attempt"
"""Trace metadata keys: the execution a trace belongs to, and which process attempt made it."""


class DurableRunner:
    """Runs one agent like the SDK's ``Runner``, durably.

    ``run``, ``run_sync`` and ``run_streamed`` take the ``Runner``'s keyword arguments
    (``context``, ``max_turns``, ``hooks``, ``run_config``, ``session``, ...) and return its
    result types. Inside a ``@flow`` each model response and each function-tool call is one
    operation, through handoffs and agents run as tools; tool calls that need approval are
    answered through ``kitaru.wait()``. Outside a flow, ``run`` and ``run_sync`` open an
    execution of their own. ``name`` (default: the agent's) names the runner's operations and
    finds it again when an execution is resumed in another process.
    """

    def __init__(
        self,
        agent: Agent[Any],
        *,
        name: str | None = None,
        approval_timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(agent, Agent):
            raise KitaruError(
                f"DurableRunner wraps an agents.Agent, not {type(agent).__name__}: "
                "DurableRunner(Agent(name=..., instructions=...))."
            )
        runner_name = name or agent.name
        if not runner_name:
            raise KitaruError(
                "DurableRunner needs a name that identifies its runs: Agent(name='triage', ...) "
                "or DurableRunner(agent, name='triage')."
            )
        self.agent = agent
        self.name: str = runner_name
        self.approval_timeout = approval_timeout
        self.origin: toolkit.Origin = toolkit.caller_origin()
        _views.install()
        _autoflow.register_runner(self)

    def __repr__(self) -> str:
        return f"DurableRunner({self.name!r})"

    # --- the run methods ----------------------------------------------------------------------

    async def run(self, input: Any, **kwargs: Any) -> RunResult:
        """``Runner.run(agent, input, **kwargs)``, durable (see the class docstring)."""
        if not toolkit.in_flow():
            result: RunResult = await _autoflow.run_automatic(self, input, kwargs)
            return result
        scope = _views.Scope()
        token = _views.scope.set(scope)
        try:
            with self._trace(kwargs.get("run_config")):
                session = kwargs.get("session")
                if session is not None:
                    await _session.restore(self.name, session)
                agent, options = scope.prepare(self.agent, self._tagged(kwargs))
                result = await Runner.run(agent, input, **options)
                while result.interruptions:
                    state = result.to_state()
                    await answer_approvals(
                        state, result.interruptions, timeout=self.approval_timeout
                    )
                    again = {k: v for k, v in options.items() if k != "context"}
                    result = await Runner.run(agent, state, **again)
                return result
        finally:
            _views.scope.reset(token)

    def run_sync(self, input: Any, **kwargs: Any) -> RunResult:
        """``Runner.run_sync``: :meth:`run` on a new event loop (not inside a running one)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(input, **kwargs))
        raise KitaruError(
            f"DurableRunner {self.name!r}: run_sync() cannot be called while an event loop runs; "
            "await run() instead."
        )

    def run_streamed(self, input: Any, **kwargs: Any) -> RunResultStreaming:
        """``Runner.run_streamed`` inside a ``@flow``: each model response streams live the first
        time and replays its recorded events on resume."""
        if not toolkit.in_flow():
            raise KitaruError(
                f"DurableRunner {self.name!r}: run_streamed() outside a @flow cannot be resumed "
                "(the stream is consumed by your code). Call it inside a @flow, or use run()."
            )
        if kwargs.get("session") is not None:
            raise KitaruError(
                f"DurableRunner {self.name!r}: a session with run_streamed() is not supported "
                "yet; use run() with the session, or run_streamed() without one."
            )
        scope = _views.Scope()
        token = _views.scope.set(scope)
        try:
            agent, options = scope.prepare(self.agent, self._tagged(kwargs))
            return Runner.run_streamed(agent, input, **options)
        finally:
            _views.scope.reset(token)

    # --- tracing --------------------------------------------------------------------------------

    def _tagged(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Run options whose trace names the execution (group id, metadata)."""
        execution = toolkit.current_execution()
        if execution is None:
            return kwargs
        config = kwargs.get("run_config")
        if not isinstance(config, RunConfig):
            config = RunConfig(**(config or {}))
        metadata = {
            **(config.trace_metadata or {}),
            EXECUTION_KEY: execution.exec_id,
            ATTEMPT_KEY: str(execution.run_no),
        }
        tagged = dataclasses.replace(
            config, group_id=config.group_id or execution.exec_id, trace_metadata=metadata
        )
        return {**kwargs, "run_config": tagged}

    def _trace(self, run_config: Any) -> AbstractContextManager[Any]:
        """One trace for this attempt's run (approval rounds included), unless one is open."""
        execution = toolkit.current_execution()
        if execution is None or get_current_trace() is not None:
            return nullcontext()
        config = (
            run_config if isinstance(run_config, RunConfig) else RunConfig(**(run_config or {}))
        )
        return trace(
            config.workflow_name if config.workflow_name != "Agent workflow" else self.name,
            group_id=config.group_id or execution.exec_id,
            metadata={
                **(config.trace_metadata or {}),
                EXECUTION_KEY: execution.exec_id,
                ATTEMPT_KEY: str(execution.run_no),
            },
            disabled=config.tracing_disabled,
        )


KitaruRunner = DurableRunner
"""Alias of :class:`DurableRunner`."""
