"""Runners are plugins: the ``resolve_runner`` hook, the local default, clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kitaru import flow
from kitaru_core import _config
from kitaru_core._config import load_settings
from kitaru_core.errors import ConfigurationError
from kitaru_core.hookspecs import hookimpl
from kitaru_core.hooktypes import Runner, WorkerSpec
from kitaru_core.plugins import register_plugin, unregister_plugin
from kitaru_core.runners import runner_for
from kitaru_core.runners._resolve import forget_runners

REPO_ROOT = Path(__file__).resolve().parents[2]


@flow
def triple(x: int) -> int:
    return 3 * x


def use_runner(home: Path, runner: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'active_stack = "team"\n[stacks.team]\nstore = "sqlite:///{home / "team.db"}"\n'
        f'runner = "{runner}"\n'
    )
    _config.reset()
    forget_runners()


def test_default_stack_runs_in_process(kitaru_home: Path) -> None:
    runner = runner_for(load_settings())
    assert runner.name == "local" and runner.in_process
    assert isinstance(runner, Runner)
    assert triple(2) == 6


def test_unknown_runner_is_refused_naming_the_stack(kitaru_home: Path) -> None:
    use_runner(kitaru_home, "kubernetes")
    with pytest.raises(ConfigurationError, match="Stack 'team' names runner 'kubernetes'"):
        triple(2)


def test_workers_runner_needs_a_postgres_store(kitaru_home: Path) -> None:
    use_runner(kitaru_home, "workers")
    with pytest.raises(ConfigurationError, match="Give the stack a postgresql"):
        triple.run(2)


class InlineRunner:
    """A third-party runner: queues ids in a list; ``drain_queue`` runs them like a worker."""

    name = "inline"
    in_process = False

    def __init__(self) -> None:
        self.queued: list[str] = []

    def submit(self, exec_id: str, *, not_before: float | None = None) -> None:
        self.queued.append(exec_id)

    def live_workers(self, within: float) -> int:
        return 1

    def serve(self, spec: WorkerSpec) -> None:
        while self.queued:
            assert spec.run_job(self.queued.pop(0)).status == "done"


def test_a_plugin_runner_is_resolved_through_the_hook(kitaru_home: Path) -> None:
    inline = InlineRunner()

    class Plugin:
        @hookimpl
        def resolve_runner(self, name: str, stack: str, store_url: str) -> Runner | None:
            return inline if name == "inline" else None

    name = register_plugin(Plugin(), "inline-runner")
    try:
        use_runner(kitaru_home, "inline")
        handle = triple.run(5)
        assert handle.status == "queued" and inline.queued == [handle.exec_id]
        from kitaru_core.runners._serve import serve

        serve(concurrency=1)
        assert handle.wait(timeout=5) == 15
    finally:
        unregister_plugin(name)
        from kitaru_core.engine import _drain

        _drain._worker_mode = False


def test_running_a_local_flow_imports_no_queue_library(kitaru_home: Path) -> None:
    code = (
        "import sys, kitaru\n"
        "@kitaru.flow\ndef f(x: int) -> int:\n    return x\n"
        "assert f(1) == 1\n"
        "print(','.join(m for m in ('procrastinate', 'celery') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == ""
