"""Finding a stack's runner through the ``resolve_runner`` hook."""

from __future__ import annotations

import threading

from kitaru_core._config import Settings
from kitaru_core.errors import ConfigurationError
from kitaru_core.hooktypes import Runner
from kitaru_core.plugins import get_plugin_manager, list_plugins

_lock = threading.Lock()
_runners: dict[tuple[str, str, str], Runner] = {}


def runner_for(settings: Settings) -> Runner:
    """The runner of ``settings``' stack (cached per stack, runner name and store URL)."""
    stack = settings.stack
    key = (stack.name, stack.runner, stack.store_url)
    runner = _runners.get(key)
    if runner is not None:
        return runner
    with _lock:
        runner = _runners.get(key)
        if runner is None:
            hook = get_plugin_manager().hook.resolve_runner
            runner = hook(name=stack.runner, stack=stack.name, store_url=stack.store_url)
            if runner is None:
                raise ConfigurationError(_unknown(stack.runner, stack.name))
            _runners[key] = runner
    return runner


def _unknown(name: str, stack: str) -> str:
    hints = [
        f"pip install 'kitaru[{info.extra}]'"
        for info in list_plugins()
        if info.missing and info.extra and info.name.endswith(name)
    ]
    hint = f" Install it: {hints[0]}." if hints else ""
    return (
        f"Stack {stack!r} names runner {name!r}, but no plugin provides it. Built-in runners: "
        f"local (run in the calling process), workers (PostgreSQL, `kitaru worker`), celery "
        f"(a Celery broker).{hint}"
    )


def forget_runners() -> None:
    """Drop cached runners (tests)."""
    with _lock:
        _runners.clear()
