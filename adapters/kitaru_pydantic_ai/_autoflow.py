"""An agent run outside a ``@flow`` opens a flow of its own: one execution per run.

The execution records which agent ran (its name, and the module or script that defines it), the
prompt and the run options, so ``kitaru executions resume`` can run it again in another process:
it imports that module, finds the agent by name and reruns the call, reusing every recorded
model request and tool call.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kitaru_core.api._decorators import Flow, flow
from kitaru_core.engine._runner import (
    _complete,
    _fail,
    _Running,
    _unwind,
    create_execution,
    settings_for,
)
from kitaru_core.engine._runtime import CONTROL_FLOW
from kitaru_core.errors import FlowNotFound, KitaruError, SerializationError
from kitaru_core.store._serialization import get_registry

if TYPE_CHECKING:
    from kitaru_pydantic_ai._agent import DurableAgent

FLOW_NAME = "pydantic_ai_agent"
_agents: dict[str, DurableAgent[Any, Any]] = {}
_flows: dict[str, Flow[..., Any]] = {}


def register_agent(agent: DurableAgent[Any, Any]) -> None:
    """Make ``agent`` findable by name when one of its executions is resumed in this process."""
    _agents[agent.durable_name] = agent


def find_agent(name: str, origin: list[str | None]) -> DurableAgent[Any, Any]:
    """The DurableAgent called ``name``, importing the code that defines it if needed."""
    if name not in _agents:
        module, file = [*origin, None, None][:2]
        if module == "__main__" and file:
            from kitaru_core.engine._code import _load_script

            _load_script(file)
        elif module and module != "__main__":
            importlib.import_module(module)
    agent = _agents.get(name)
    if agent is None:
        where = f" ({origin[1] or origin[0]})" if any(origin) else ""
        raise FlowNotFound(
            f"DurableAgent {name!r} is not defined in this process{where}. Create it at module "
            "level so that importing its module defines it, then resume again."
        )
    return agent


def pack_options(agent_name: str, options: dict[str, Any]) -> dict[str, list[str]]:
    """Serialize run options one by one (codec, base64 data) so odd ones fail clearly."""
    registry = get_registry()
    packed: dict[str, list[str]] = {}
    for key, value in options.items():
        try:
            codec, data = registry.dumps(value, what=f"Run option {key!r}")
        except SerializationError as exc:
            raise KitaruError(
                f"DurableAgent {agent_name!r} ran outside a @flow, so its run options are stored "
                f"to resume it later, but {key}= cannot be stored ({exc}). Call the agent inside "
                "your own @flow, where run options are not stored."
            ) from exc
        packed[key] = [codec, base64.b64encode(data).decode()]
    return packed


def unpack_options(packed: dict[str, list[str]]) -> dict[str, Any]:
    """Inverse of :func:`pack_options`."""
    registry = get_registry()
    return {
        key: registry.loads(codec, base64.b64decode(data), what=f"Run option {key!r}")
        for key, (codec, data) in packed.items()
    }


async def _agent_flow_body(
    agent: str,
    origin: list[str | None],
    method: str,
    user_prompt: Any = None,
    options: dict[str, list[str]] | None = None,
) -> Any:
    """The body of an automatic flow: run agent ``agent`` again with the stored call."""
    durable = find_agent(agent, origin)
    return await durable.run_again(method, user_prompt, unpack_options(options or {}))


# Recorded as ``kitaru_pydantic_ai._autoflow:agent_flow``: the module attribute below.
_agent_flow_body.__name__ = _agent_flow_body.__qualname__ = "agent_flow"
agent_flow: Flow[..., Any] = flow(name=FLOW_NAME)(_agent_flow_body)
"""The flow every automatic agent execution runs (importable, so any process can resume it)."""


def flow_for(agent_name: str) -> Flow[..., Any]:
    """The automatic flow of one agent: the shared body, recorded under the agent's name."""
    found = _flows.get(agent_name)
    if found is None:
        found = _flows[agent_name] = Flow(agent_flow.func, name=agent_name)
    return found


def flow_arguments(
    agent: DurableAgent[Any, Any], method: str, user_prompt: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """The stored arguments of an automatic flow."""
    return {
        "agent": agent.durable_name,
        "origin": list(agent.origin),
        "method": method,
        "user_prompt": user_prompt,
        "options": pack_options(agent.durable_name, options),
    }


async def run_automatic(
    agent: DurableAgent[Any, Any], method: str, user_prompt: Any, options: dict[str, Any]
) -> Any:
    """Run ``agent.run(...)`` in a new execution and return its result (or raise its error)."""
    auto = flow_for(agent.durable_name)
    handle = await auto.run(**flow_arguments(agent, method, user_prompt, options))
    return handle.wait()


@dataclass
class Outcome:
    """What an automatic execution opened around ``iter`` ends with."""

    value: Any = None


@asynccontextmanager
async def open_execution(
    agent: DurableAgent[Any, Any], method: str, user_prompt: Any, options: dict[str, Any]
) -> AsyncIterator[Outcome]:
    """An execution that lasts as long as the ``async with`` block (``iter``, ``run_stream``)."""
    auto = flow_for(agent.durable_name)
    arguments = flow_arguments(agent, method, user_prompt, options)
    run = create_execution(auto, arguments, settings=settings_for(auto))
    outcome = Outcome()
    with _Running(run):
        run.log.restart()
        try:
            yield outcome
        except CONTROL_FLOW as exc:
            _unwind(run, exc)
            raise
        except BaseException as exc:
            _fail(run, exc)
            raise
        _complete(run, auto, outcome.value)
