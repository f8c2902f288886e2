"""A runner used outside a ``@flow`` opens a flow of its own: one execution per run.

The execution records which runner ran (its name, and the module or script that defines it),
the input and the run options, so ``kitaru executions resume`` can run it again in another
process: it imports that module, finds the runner by name and reruns the call, reusing every
recorded model response and tool call. The generic part is the toolkit's ``AutomaticFlow``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kitaru_core.errors import KitaruError, SerializationError
from kitaru_core.toolkit import (
    AutomaticFlow,
    find_object,
    pack_value,
    register_object,
    unpack_value,
)

if TYPE_CHECKING:
    from kitaru_openai_agents._runner import DurableRunner

FLOW_NAME = "openai_agents_run"
KIND = "DurableRunner"
"""What runners are registered as (and named as in errors)."""


def register_runner(runner: DurableRunner) -> None:
    """Make ``runner`` findable by name when one of its executions is resumed in this process."""
    register_object(KIND, runner.name, runner)


def _pack(runner: str, what: str, value: Any) -> list[str]:
    try:
        return pack_value(value, what=what)
    except SerializationError as exc:
        raise KitaruError(
            f"DurableRunner {runner!r} ran outside a @flow, so its input and run options are "
            f"stored to resume it later, but {what} cannot be stored ({exc}). Call the runner "
            "inside your own @flow, where they are not stored."
        ) from exc


async def _runner_flow_body(
    runner: str,
    origin: list[str | None],
    input: list[str],
    options: dict[str, list[str]] | None = None,
) -> Any:
    """The body of an automatic flow: run runner ``runner`` again with the stored call."""
    durable: DurableRunner = find_object(KIND, runner, origin)
    unpacked = {
        key: unpack_value(value, what=f"Run option {key!r}")
        for key, value in (options or {}).items()
    }
    return await durable.run(unpack_value(input, what="The run input"), **unpacked)


runner_flow = AutomaticFlow(_runner_flow_body, name=FLOW_NAME, attribute="runner_flow")
"""The flow every automatic run executes, recorded as
``kitaru_openai_agents._autoflow:runner_flow`` (importable, so any process can resume it)."""


def flow_arguments(runner: DurableRunner, input: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The stored arguments of an automatic flow."""
    return {
        "runner": runner.name,
        "origin": list(runner.origin),
        "input": _pack(runner.name, "the run input", input),
        "options": {
            key: _pack(runner.name, f"{key}=", value)
            for key, value in options.items()
            if value is not None
        },
    }


async def run_automatic(runner: DurableRunner, input: Any, options: dict[str, Any]) -> Any:
    """Run ``runner.run(...)`` in a new execution and return its result (or raise its error)."""
    auto = runner_flow.named(runner.name)
    return await auto.arun(flow_arguments(runner, input, options))
