"""Schedules on the ``workers`` runner: each due time starts exactly one run, even with two
workers checking the same schedules (Procrastinate's periodic-defer table dedupes)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time

import pytest
from conftest import HERE, Workers, wait_for
from test_workers import live_worker

from kitaru import KitaruClient

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def kitaru(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitaru_core.cli", *args],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_schedule_fires_once_per_due_time_with_two_workers(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    live_worker(workers, "--concurrency", "2")
    live_worker(workers, "--concurrency", "2")
    added = kitaru(
        worker_stack, "schedule", "add", "tick", "worker_flows:twenty_steps",
        "--cron", "* * * * * */2", "--args", '{"n": 6, "pause": 0}', "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = kitaru(worker_stack, "schedule", "list", "--json")
    assert [row["name"] for row in json.loads(listed.stdout)] == ["tick"]
    client = KitaruClient()
    wait_for(lambda: len(client.executions.list(flow="twenty_steps")) >= 4, 30, "4 runs")
    removed = kitaru(worker_stack, "schedule", "remove", "tick")
    assert removed.returncode == 0, removed.stderr
    stopped = time.time()
    time.sleep(3)  # a due time in flight may still land; then nothing more
    runs = client.executions.list(flow="twenty_steps", limit=500)
    due = sorted(run.metadata["scheduled_for"] for run in runs)
    assert len(due) == len(set(due)), due  # no due time started twice
    assert all(b - a == 2 for a, b in itertools.pairwise(due)), due  # none skipped
    assert max(due) <= stopped + 1
    wait_for(
        lambda: all(r.status == "completed" for r in client.executions.list(flow="twenty_steps")),
        30,
        "the scheduled runs to complete",
    )
    assert {run.result for run in client.executions.list(flow="twenty_steps")} == {
        __import__("worker_flows").expected(6)
    }


def test_a_due_time_fired_twice_starts_one_run(worker_stack: dict[str, str]) -> None:
    # Procrastinate's periodic-defer table keeps only the newest due time of a schedule, so a
    # worker that lags behind (a loaded machine) can defer an older due time a second time:
    # its second FIRE job must not start a second run.
    import worker_flows

    from kitaru_core import _config
    from kitaru_core.runners._schedules import fire, make_schedule

    settings = _config.load_settings()
    schedule = make_schedule("tick", "* * * * *", worker_flows.twenty_steps, {"n": 2, "pause": 0})
    due = int(time.time())
    first = fire(schedule, due, settings=settings, flows=None)
    second = fire(schedule, due, settings=settings, flows=None)
    assert first.status == "done", first
    assert second.status == "skipped" and "already" in second.message, second
    runs = KitaruClient().executions.list(flow="twenty_steps")
    assert [run.metadata["scheduled_for"] for run in runs] == [due]
    assert fire(schedule, due + 60, settings=settings, flows=None).status == "done"
    assert len(KitaruClient().executions.list(flow="twenty_steps")) == 2


def test_schedule_refusals(worker_stack: dict[str, str], kitaru_home: object) -> None:
    bad_cron = kitaru(
        worker_stack, "schedule", "add", "x", "worker_flows:started_at", "--cron", "every day"
    )
    assert bad_cron.returncode == 1 and "not a cron expression" in bad_cron.stderr
    bad_args = kitaru(
        worker_stack, "schedule", "add", "x", "worker_flows:started_at",
        "--cron", "* * * * *", "--args", '{"nope": 1}',
    )  # fmt: skip
    assert bad_args.returncode == 1 and "do not fit flow 'started_at'" in bad_args.stderr
    not_a_flow = kitaru(
        worker_stack, "schedule", "add", "x", "worker_flows:expected", "--cron", "* * * * *"
    )
    assert not_a_flow.returncode == 1 and "is not a @flow" in not_a_flow.stderr
    missing = kitaru(worker_stack, "schedule", "remove", "nothing")
    assert missing.returncode == 1 and "No schedule named 'nothing'" in missing.stderr
    local = {**worker_stack, "KITARU_STACK": "default"}
    on_local = kitaru(local, "schedule", "list")
    assert on_local.returncode == 1 and "keeps no schedules" in on_local.stderr
