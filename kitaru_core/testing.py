"""The adapter contract test kit: the checks every harness adapter passes, ours and third parties'.

An adapter describes itself in an :class:`AdapterContract`: a scenario script (a ``@flow`` that
makes at least two model calls, or model and tool calls, through the adapter) and the operation
names it records, by kind. The script calls :func:`arm_kill_switch` first and :func:`note_call`
inside each model or tool call that really runs. Then, in a test::

    from kitaru_core import testing

    def test_my_adapter_keeps_the_contract(subprocess_env):
        testing.check_contract(MY_CONTRACT, subprocess_env)

checks that

- a crash and a resume repeat no completed model or tool call: the scenario is killed with
  SIGKILL right after its ``kill_after``-th call is recorded, then resumed in a fresh process
  (``kitaru executions resume``) and must finish with every call made exactly once;
- reused calls count as saved cost: the resumed execution's ``cost_saved`` is the cost of the
  operations it reused, and more than zero;
- operation names are pinned: every operation the adapter recorded has a name the contract
  declares (names are persisted data: a rename breaks the resume of stored executions).
  :func:`check_operation_names_pinned` also runs on executions recorded by earlier versions.

``env`` is the environment of the child processes: it must point ``KITARU_HOME`` (or the store
settings) at the store the calling process reads, and make the script importable.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitaru_core.client import Execution, KitaruClient
from kitaru_core.hookspecs import hookimpl
from kitaru_core.plugins import register_plugin

LOG_ENV = "KITARU_CONTRACT_LOG"
"""File to which :func:`note_call` appends one line per call that really ran."""
KILL_ENV = "KITARU_CONTRACT_KILL_AFTER"
"""When set to N, :func:`arm_kill_switch` kills the process after the N-th recorded call."""
USER_NAMED_KINDS = frozenset({"checkpoint", "wait"})
"""Operation kinds whose names the user chooses (not pinned by an adapter)."""


class ContractViolation(AssertionError):
    """An adapter broke the contract; the message says which check and what was seen."""


@dataclass(frozen=True)
class AdapterContract:
    """What the kit needs to know about one adapter.

    ``operation_names`` maps each operation kind the adapter records (``llm``, ``tool``, ...)
    to the name patterns (``fnmatch``, case-sensitive) it records them under. ``call_kinds``
    are the kinds that count as model or tool calls for the kill switch.
    """

    name: str
    script: Path
    operation_names: Mapping[str, Sequence[str]]
    kill_after: int = 2
    args: Sequence[str] = ()
    call_kinds: frozenset[str] = frozenset({"llm", "tool", "mcp", "agent"})
    timeout: float = 120
    extra_env: Mapping[str, str] = field(default_factory=dict)


# --- inside the scenario script ----------------------------------------------------------------


def note_call(label: str) -> None:
    """Record that a model or tool call really ran (a line in ``$KITARU_CONTRACT_LOG``)."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    with open(path, "a") as log:
        log.write(label + "\n")
        log.flush()
        os.fsync(log.fileno())


class _KillSwitch:
    def __init__(self, limit: int, kinds: frozenset[str]) -> None:
        self.limit = limit
        self.kinds = kinds
        self.seen = 0

    @hookimpl
    def on_operation_event(self, event: str, operation: Any) -> None:
        if event == "completed" and getattr(operation, "kind", None) in self.kinds:
            self.seen += 1
            if self.seen == self.limit:
                os.kill(os.getpid(), signal.SIGKILL)


def arm_kill_switch(kinds: frozenset[str] = AdapterContract.call_kinds) -> None:
    """Kill this process with SIGKILL right after its N-th model or tool call is recorded,
    when ``$KITARU_CONTRACT_KILL_AFTER`` is N (nothing otherwise). Call it first in the script."""
    limit = os.environ.get(KILL_ENV)
    if limit:
        register_plugin(_KillSwitch(int(limit), kinds), "kitaru-contract-kill-switch")


# --- the checks --------------------------------------------------------------------------------


@dataclass
class CrashAndResume:
    """What :func:`crash_and_resume` saw: the calls before the kill and in all, the execution."""

    calls_before_kill: list[str]
    calls: list[str]
    execution: Execution


def _run(args: Sequence[str], env: Mapping[str, str], timeout: float) -> Any:
    return subprocess.run(
        [sys.executable, *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


def crash_and_resume(
    contract: AdapterContract,
    env: Mapping[str, str],
    log: Path,
    *,
    client: KitaruClient | None = None,
) -> CrashAndResume:
    """Run the scenario until SIGKILL after ``kill_after`` calls, then resume it in a fresh
    process; ``log`` collects the calls (an empty file, or none yet)."""
    client = client or KitaruClient()
    known = {e.exec_id for e in client.executions.list(limit=1000)}
    child_env = {**env, **contract.extra_env, LOG_ENV: str(log)}
    killed = _run(
        [str(contract.script), *contract.args],
        {**child_env, KILL_ENV: str(contract.kill_after)},
        contract.timeout,
    )
    if killed.returncode != -signal.SIGKILL:
        raise ContractViolation(
            f"{contract.name}: the scenario was to be killed after {contract.kill_after} "
            f"recorded calls, but it exited with {killed.returncode}:\n{killed.stderr[-2000:]}"
        )
    before = log.read_text().splitlines() if log.exists() else []
    started = [e for e in client.executions.list(limit=1000) if e.exec_id not in known]
    if len(started) != 1:
        raise ContractViolation(
            f"{contract.name}: the scenario should start one execution, it started {len(started)}."
        )
    exec_id = started[0].exec_id
    resumed = _run(
        ["-m", "kitaru_core.cli", "executions", "resume", exec_id], child_env, contract.timeout
    )
    if resumed.returncode != 0:
        raise ContractViolation(
            f"{contract.name}: resuming {exec_id} after the kill failed:\n"
            f"{resumed.stdout[-2000:]}{resumed.stderr[-2000:]}"
        )
    execution = client.executions.get(exec_id)
    if execution.status != "completed":
        raise ContractViolation(
            f"{contract.name}: execution {exec_id} is {execution.status} after the resume."
        )
    return CrashAndResume(before, log.read_text().splitlines(), execution)


def check_no_call_repeated(contract: AdapterContract, seen: CrashAndResume) -> None:
    """No model or tool call ran twice, and the kill came after some and before all of them."""
    repeated = sorted(label for label, count in Counter(seen.calls).items() if count > 1)
    if repeated:
        raise ContractViolation(
            f"{contract.name}: a crash and resume repeated completed calls: {repeated} "
            f"(calls before the kill: {seen.calls_before_kill}; in all: {seen.calls})."
        )
    if not seen.calls_before_kill or len(seen.calls) <= len(seen.calls_before_kill):
        raise ContractViolation(
            f"{contract.name}: the scenario must make calls both before the kill and after it "
            f"(before: {seen.calls_before_kill}; in all: {seen.calls}). Raise its number of "
            "calls or lower kill_after."
        )
    reused = [op for op in seen.execution.operations if op.reused]
    if not any(op.kind in contract.call_kinds for op in reused):
        raise ContractViolation(
            f"{contract.name}: the resume reused no model or tool call "
            f"(operations: {[(op.name, op.kind, op.reused) for op in seen.execution.operations]})."
        )


def check_reused_calls_saved(contract: AdapterContract, execution: Execution) -> None:
    """The execution's saved cost is the cost of the operations it reused, and not zero."""
    reused_cost = sum(op.cost for op in execution.operations if op.reused)
    if execution.cost_saved <= 0 or abs(execution.cost_saved - reused_cost) > 1e-9:
        raise ContractViolation(
            f"{contract.name}: execution {execution.exec_id} saved {execution.cost_saved!r}, "
            f"but its reused operations cost {reused_cost!r}: a reused model call must report "
            "its tokens and cost (toolkit.report_usage) so that a resume counts it as saved."
        )


def check_operation_names_pinned(contract: AdapterContract, execution: Execution) -> None:
    """Every operation the adapter recorded in ``execution`` has a name the contract declares."""
    wrong = []
    for op in execution.operations:
        if op.kind in USER_NAMED_KINDS:
            continue
        patterns = contract.operation_names.get(op.kind)
        if patterns is None or not any(fnmatch.fnmatchcase(op.name, p) for p in patterns):
            wrong.append((op.kind, op.name))
    if wrong:
        raise ContractViolation(
            f"{contract.name}: execution {execution.exec_id} holds operations whose (kind, name) "
            f"the adapter does not declare: {wrong}. Operation names are persisted: a renamed "
            "operation runs again on resume. Restore the name, or declare it (and keep the old "
            "one resumable)."
        )


def check_contract(
    contract: AdapterContract, env: Mapping[str, str], workdir: Path | None = None
) -> Execution:
    """Run every check of the kit on ``contract``; returns the resumed execution."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        seen = crash_and_resume(contract, env, Path(tmp) / "calls.log")
    check_no_call_repeated(contract, seen)
    check_reused_calls_saved(contract, seen.execution)
    check_operation_names_pinned(contract, seen.execution)
    return seen.execution
