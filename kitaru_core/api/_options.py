"""Run options: what a caller may set per run, next to the flow's own arguments.

``flow.run(x, stack="prod")`` and ``flow.options(stack="prod").run(x)`` set the same option.
A keyword that names a parameter of the flow always goes to the flow, so a flow with its own
``stack`` parameter gets it, and ``options()`` is how its run option is set. The same holds
for ``at=`` and ``delay=`` (a run queued to start later, on a worker stack). To add an option,
add a field to :class:`RunOptions`; ``run()`` and ``options()`` pick it up.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kitaru_core.errors import KitaruError


@dataclass(frozen=True)
class RunOptions:
    """Options of one run; ``None`` means "not given here" (the next source decides)."""

    stack: str | None = None
    """The stack to run on: beats ``@flow(stack=...)``, configure(), KITARU_STACK, config file."""

    at: datetime | float | None = None
    """Start no earlier than this (an aware datetime or a Unix time); needs a worker stack."""

    delay: float | None = None
    """Start no earlier than this many seconds from now; needs a worker stack."""

    detached: bool | None = None
    """A child execution (started inside a flow) that is not cancelled with its parent."""

    def start_time(self) -> float | None:
        """The Unix time the run may start, or None to start it now (``at`` or ``delay``)."""
        if self.at is None and self.delay is None:
            return None
        # lazy: only delayed runs need it
        from kitaru_core.api._queued import start_time

        return start_time(self.at, self.delay)

    def merged(self, later: RunOptions) -> RunOptions:
        """These options with every option that ``later`` gives replacing this one's."""
        given = {
            f.name: getattr(later, f.name)
            for f in dataclasses.fields(later)
            if getattr(later, f.name) is not None
        }
        return dataclasses.replace(self, **given)


OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(RunOptions))


def make_options(flow_name: str, given: dict[str, Any]) -> RunOptions:
    """``RunOptions`` from keyword arguments, refusing names that are no run option."""
    unknown = sorted(set(given) - OPTION_NAMES)
    if unknown:
        raise KitaruError(
            f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a run option of "
            f"flow {flow_name!r}; options() takes {', '.join(sorted(OPTION_NAMES))}."
        )
    return RunOptions(**given)


def split_run_options(
    signature: inspect.Signature, kwargs: dict[str, Any]
) -> tuple[RunOptions, dict[str, Any]]:
    """The run options in ``kwargs`` and the keyword arguments left for the flow.

    A keyword that names one of the flow's own parameters is the flow's, never an option (a
    ``**kwargs`` or positional-only parameter does not count: no keyword names it).
    """
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    own = {name for name, p in signature.parameters.items() if p.kind in keyword}
    taken = {name: kwargs[name] for name in OPTION_NAMES if name in kwargs and name not in own}
    if not taken:
        return RunOptions(), kwargs
    rest = {name: value for name, value in kwargs.items() if name not in taken}
    return RunOptions(**taken), rest
