"""An agent run outside a ``@flow`` opens a flow of its own: one execution per run.

The execution records which agent ran (its name, and the module or script that defines it), the
prompt and the run options, so ``kitaru executions resume`` can run it again in another process:
it imports that module, finds the agent by name and reruns the call, reusing every recorded
model request and tool call. The generic part (the flow, the registry, opening executions) is
the toolkit's ``AutomaticFlow``; this module holds what is particular to Pydantic AI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kitaru_core.errors import KitaruError, SerializationError
from kitaru_core.toolkit import (
    AutomaticFlow,
    Opened,
    find_object,
    pack_value,
    register_object,
    unpack_value,
)

if TYPE_CHECKING:
    from kitaru_pydantic_ai._agent import DurableAgent

FLOW_NAME = "pydantic_ai_agent"
KIND = "DurableAgent"
"""What agents are registered as (and named as in errors)."""


def register_agent(agent: DurableAgent[Any, Any]) -> None:
    """Make ``agent`` findable by name when one of its executions is resumed in this process."""
    register_object(KIND, agent.durable_name, agent)


def find_agent(name: str, origin: list[str | None]) -> DurableAgent[Any, Any]:
    """The DurableAgent called ``name``, importing the code that defines it if needed."""
    found: DurableAgent[Any, Any] = find_object(KIND, name, origin)
    return found


def pack_options(agent_name: str, options: dict[str, Any]) -> dict[str, list[str]]:
    """Serialize run options one by one (codec, base64 data) so odd ones fail clearly."""
    packed: dict[str, list[str]] = {}
    for key, value in options.items():
        try:
            packed[key] = pack_value(value, what=f"Run option {key!r}")
        except SerializationError as exc:
            raise KitaruError(
                f"DurableAgent {agent_name!r} ran outside a @flow, so its run options are stored "
                f"to resume it later, but {key}= cannot be stored ({exc}). Call the agent inside "
                "your own @flow, where run options are not stored."
            ) from exc
    return packed


def unpack_options(packed: dict[str, list[str]]) -> dict[str, Any]:
    """Inverse of :func:`pack_options`."""
    return {key: unpack_value(value, what=f"Run option {key!r}") for key, value in packed.items()}


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


agent_flow = AutomaticFlow(_agent_flow_body, name=FLOW_NAME, attribute="agent_flow")
"""The flow every automatic agent execution runs, recorded as
``kitaru_pydantic_ai._autoflow:agent_flow`` (importable, so any process can resume it)."""


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
    auto = agent_flow.named(agent.durable_name)
    return await auto.arun(flow_arguments(agent, method, user_prompt, options))


@contextmanager
def open_execution(
    agent: DurableAgent[Any, Any], method: str, user_prompt: Any, options: dict[str, Any]
) -> Iterator[Opened]:
    """An execution that lasts as long as the ``with`` block (``iter``, ``run_stream``)."""
    auto = agent_flow.named(agent.durable_name)
    with auto.open(flow_arguments(agent, method, user_prompt, options)) as opened:
        yield opened
