"""Fan-out on a worker stack (issue 15): children are queued for the workers, the parent
releases its worker while they run, and continues on its own when the last one finishes."""

from __future__ import annotations

import pytest
from conftest import Workers
from test_workers import live_worker

from kitaru import KitaruClient

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_parent_on_one_worker_releases_it_for_its_children_and_continues_on_its_own(
    workers: Workers, worker_stack: dict[str, str]
) -> None:
    import fanout_worker_flows

    handle = fanout_worker_flows.fans_out_on_workers.run(3)
    live_worker(workers, "--concurrency", "1")  # one slot: a parent holding it would deadlock
    assert handle.wait(timeout=60) == 0 + 1 + 4
    client = KitaruClient().executions
    parent = client.get(handle.exec_id)
    assert parent.run_count >= 2  # it suspended at gather and was continued by a worker
    assert [c.status for c in parent.children] == ["completed"] * 3
