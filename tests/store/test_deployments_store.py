"""The store's deployments on SQLite and PostgreSQL: versions, tags, refused deletes."""

from __future__ import annotations

import threading
import time
import uuid

from kitaru_core.store._ids import new_exec_id
from kitaru_core.store._records import DeploymentRecord, ExecutionRecord
from kitaru_core.store._sql_store import SqlStore


def snapshot(name: str, code: str) -> DeploymentRecord:
    return DeploymentRecord(
        name=name,
        version=0,
        snapshot=f"{code:0>64}",
        flow_ref="agents:agent",
        created_at=time.time(),
        packages={"python": "3.11.0"},
    )


def test_versions_tags_and_deletes(store: SqlStore) -> None:
    name = f"agent-{uuid.uuid4().hex[:10]}"
    v1, created = store.save_deployment(snapshot(name, "a"), tags=["default"])
    assert (v1.version, created) == (1, True)
    same, created = store.save_deployment(snapshot(name, "a"), tags=["stable"])
    assert (same.version, created) == (1, False)
    v2, _ = store.save_deployment(snapshot(name, "b"), tags=["canary"])
    assert v2.version == 2
    assert store.deployment_tags(name) == {"canary": 2, "default": 1, "stable": 1}
    assert [(d.version, d.tags, d.packages) for d in store.list_deployments(name)] == [
        (2, ["canary"], {"python": "3.11.0"}),
        (1, ["default", "stable"], {"python": "3.11.0"}),
    ]
    assert store.set_deployment_tag(name, "default", 2, at=time.time())
    assert not store.set_deployment_tag(name, "default", 9, at=time.time())
    assert store.deployment_tags(name)["default"] == 2

    running = ExecutionRecord(
        exec_id=new_exec_id(),
        flow_name="agent",
        flow_ref="kitaru_deploy_x.agents:agent",
        status="waiting",
        created_at=time.time(),
        deployment=name,
        deployment_version=1,
        snapshot=v1.snapshot,
    )
    store.create_execution(running)
    assert store.delete_deployment(name, 1, at=time.time()) == ([], [running.exec_id])
    assert [r.exec_id for r in store.list_deployment_executions(name, 1)] == [running.exec_id]
    assert store.list_deployment_executions(name, 2) == []

    store.update_execution(running.exec_id, status="completed")
    assert store.delete_deployment(name, 1, at=time.time()) == (["stable"], [])
    assert [d.version for d in store.list_deployments(name)] == [2]
    assert not store.set_deployment_tag(name, "stable", 1, at=time.time())
    # numbers are never reused; the identical snapshot brings its version back
    assert store.save_deployment(snapshot(name, "c"))[0].version == 3
    assert store.save_deployment(snapshot(name, "a"))[0].version == 1
    assert [d.version for d in store.list_deployments(name)] == [3, 2, 1]


def test_concurrent_deploys_get_distinct_versions(store: SqlStore) -> None:
    name = f"race-{uuid.uuid4().hex[:10]}"
    versions: list[int] = []

    def deploy(code: str) -> None:
        versions.append(store.save_deployment(snapshot(name, code), tags=["default"])[0].version)

    threads = [threading.Thread(target=deploy, args=(str(n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == [1, 2, 3, 4]
