"""kitaru.save has an identity per run, so a resumed body does not duplicate versions."""

from __future__ import annotations

import kitaru
from kitaru import KitaruClient, checkpoint, flow

state = {"fail": True, "suffix": ""}


@checkpoint
def gate() -> int:
    if state["fail"]:
        raise RuntimeError("not yet")
    return 1


@flow
def reporter() -> int:
    kitaru.save("report", "first" + state["suffix"])
    kitaru.save("report", "second")
    return gate()


def _versions(exec_id: str) -> list[tuple[int, object]]:
    return sorted((a.version, a.load()) for a in KitaruClient().artifacts.list(exec_id=exec_id))


def test_a_retry_saving_the_same_values_adds_no_versions() -> None:
    state.update(fail=True, suffix="")
    handle = reporter.run()
    state["fail"] = False
    assert KitaruClient().executions.retry(handle.exec_id).wait() == 1
    assert _versions(handle.exec_id) == [(1, "first"), (2, "second")]


def test_a_retry_saving_a_changed_value_adds_a_version() -> None:
    state.update(fail=True, suffix="")
    handle = reporter.run()
    state.update(fail=False, suffix=" (edited)")
    KitaruClient().executions.retry(handle.exec_id).wait()
    assert _versions(handle.exec_id) == [(1, "first"), (2, "second"), (3, "first (edited)")]
    assert kitaru.load(handle.exec_id, "report") == "first (edited)"
