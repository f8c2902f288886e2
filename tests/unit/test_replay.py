"""Replay: from_, checkpoint/wait/argument overrides, lineage, selector errors (issue 3)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.engine._replay_plan import OVERRIDE_MARK
from kitaru_core.errors import InvalidReplay

calls: Counter[str] = Counter()
knobs: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    calls.clear()
    knobs.clear()
    yield


def executions() -> Any:
    return KitaruClient().executions


@checkpoint
def research(topic: str) -> str:
    calls["research"] += 1
    return f"notes on {topic}"


@checkpoint
def write(notes: str, tone: str) -> str:
    calls["write"] += 1
    if knobs.get("fail_write"):
        raise RuntimeError("the writer crashed")
    return f"[{tone}] {notes}"


@checkpoint
def polish(text: str) -> str:
    calls["polish"] += 1
    return text.upper()


@flow
def article(topic: str, tone: str = "calm") -> str:
    if knobs.get("fail_start"):
        raise RuntimeError("crashed before the first operation")
    notes = research(topic)
    text = write(notes, tone)
    if kitaru.wait(bool, name="approve", question=f"Publish {text!r}?", timeout=0):
        return polish(text)
    return "rejected"


def finished_article(topic: str = "owls", answer: bool = True) -> str:
    exec_id = str(article.run(topic).exec_id)
    executions().input(exec_id, answer)
    assert executions().resume(exec_id).status == "completed"
    calls.clear()
    return exec_id


def test_replay_from_a_checkpoint_reuses_what_came_before_and_reruns_the_rest() -> None:
    source = finished_article()

    handle = article.replay(source, from_="write", tone="loud")

    # write ran again with the new tone, so the question changed and is asked anew
    assert handle.status == "waiting"
    [pending] = executions().pending_waits(handle.exec_id)
    assert pending.question == "Publish '[loud] notes on owls'?"
    executions().input(handle.exec_id, True)
    assert executions().resume(handle.exec_id).wait() == "[LOUD] NOTES ON OWLS"
    assert calls == Counter({"write": 1, "polish": 1})  # research was reused
    replay = handle.get()
    assert replay.original_exec_id == source
    assert replay.replay_from is not None and replay.replay_from.startswith("write:")
    assert replay.inputs == {"topic": "owls", "tone": "loud"}
    assert [(op.name, op.reused_from) for op in replay.operations] == [
        ("research", source),
        ("write", None),
        ("approve", None),
        ("polish", None),
    ]
    assert executions().pending_waits(replay.exec_id) == []


def test_replay_with_a_checkpoint_override_starts_at_that_checkpoint() -> None:
    source = finished_article()

    handle = executions().replay(
        source, overrides={"checkpoint.research": "edited notes", "wait.approve": True}
    )

    assert handle.wait() == "[CALM] EDITED NOTES"
    assert calls == Counter({"write": 1, "polish": 1})
    research_op = handle.get().operations[0]
    assert (research_op.name, research_op.metadata) == ("research", {OVERRIDE_MARK: True})


def test_replay_with_a_wait_override_changes_the_answer() -> None:
    source = finished_article(answer=True)

    handle = executions().replay(source, overrides={"wait.approve": False})

    assert handle.wait() == "rejected"
    assert calls == Counter()  # research and write are inherited, the wait is overridden
    assert executions().waits(handle.get().exec_id) == []


def test_a_wait_override_is_validated_before_anything_runs() -> None:
    source = finished_article()
    before = len(executions().list())

    with pytest.raises(InvalidReplay, match=r"wait\.approve") as caught:
        executions().replay(source, overrides={"wait.approve": "perhaps"})

    assert "is not of type 'boolean'" in str(caught.value)
    assert len(executions().list()) == before


def test_a_replay_answers_a_wait_the_source_never_got_an_answer_for() -> None:
    waiting = str(article.run("bats").exec_id)

    handle = executions().replay(waiting, overrides={"wait.approve": True})

    assert handle.wait() == "[CALM] NOTES ON BATS"
    assert calls == Counter({"research": 1, "write": 1, "polish": 1})  # 1 from the source run
    assert executions().get(waiting).status == "waiting"  # the source is untouched


def test_replay_of_a_replay_keeps_the_lineage() -> None:
    source = finished_article()
    first = executions().replay(source, overrides={"checkpoint.research": "v2"})
    assert first.status == "waiting"  # the new draft needs a new approval
    executions().input(first.exec_id, True)
    assert executions().resume(first.exec_id).wait() == "[CALM] V2"
    calls.clear()

    second = executions().replay(first.exec_id, from_="approve", overrides={"wait.approve": False})

    assert second.wait() == "rejected"
    assert calls == Counter()
    chain = second.get().lineage()
    assert [e.exec_id for e in chain] == [second.exec_id, first.exec_id, source]
    assert [e.exec_id for e in executions().lineage(second.exec_id)] == [e.exec_id for e in chain]
    ops = second.get().operations
    assert [(op.name, op.reused_from) for op in ops] == [
        ("research", first.exec_id),
        ("write", first.exec_id),
        ("approve", first.exec_id),
    ]


def test_replay_by_operation_id_and_from_the_start() -> None:
    source = finished_article()
    write_id = next(op.op_id for op in executions().get(source).operations if op.name == "write")

    by_id = executions().replay(source, from_=write_id, overrides={"wait.approve": False})
    assert by_id.wait() == "rejected"
    assert calls == Counter({"write": 1})
    calls.clear()

    fresh = article.replay(source)  # no from_, no overrides: everything runs again
    assert fresh.status == "waiting"
    assert calls == Counter({"research": 1, "write": 1})
    assert fresh.get().replay_from is None


def test_a_replay_that_fails_resumes_with_its_inheritance() -> None:
    source = finished_article()
    knobs["fail_write"] = True

    handle = executions().replay(source, from_="write", overrides={"checkpoint.research": "x"})
    assert handle.status == "failed"
    knobs["fail_write"] = False
    calls.clear()

    resumed = executions().resume(handle.exec_id)
    assert resumed.status == "waiting"
    assert calls == Counter({"write": 1})  # the override and everything before stay reused
    executions().input(handle.exec_id, True)
    assert executions().resume(handle.exec_id).wait() == "[CALM] X"


def test_a_replay_that_stopped_before_reaching_what_it_inherits_still_inherits_it() -> None:
    source = finished_article()
    knobs["fail_start"] = True
    handle = executions().replay(source, from_="approve", overrides={"wait.approve": False})
    assert handle.status == "failed"
    assert handle.get().operations == []
    knobs.clear()

    resumed = executions().resume(handle.exec_id)  # a new process would rebuild the same

    assert resumed.wait() == "rejected"
    assert calls == Counter()
    assert [op.reused_from for op in resumed.get().operations] == [source] * 3


# selector errors ----------------------------------------------------------------------------


@checkpoint
def step(i: int) -> int:
    return i


@flow
def repeated() -> int:
    return step(1) + step(2)


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({"from_": "nope"}, ["'nope' names no operation", "research (checkpoint)"]),
        ({"overrides": {"checkpoint.nope": 1}}, ["'nope' names no operation"]),
        ({"overrides": {"wait.research": 1}}, ["is a checkpoint", "checkpoint.research"]),
        ({"overrides": {"checkpoint.approve": 1}}, ["is a wait", "wait.approve"]),
        ({"overrides": {"research": 1}}, ["not one of checkpoint.NAME"]),
        ({"overrides": {"output.research": 1}}, ["not one of checkpoint.NAME"]),
        ({"from_": "research", "overrides": {"checkpoint.write": "x"}}, ["comes after from_"]),
        ({"colour": "red"}, ["no parameter 'colour'", "topic, tone"]),
        ({"tone": 3}, ["'tone'", "valid string"]),
        ({"overrides": {"arg.colour": "red"}}, ["no parameter 'colour'"]),
    ],
)
def test_bad_replay_requests_fail_before_anything_runs(
    kwargs: dict[str, Any], needles: list[str]
) -> None:
    source = finished_article()
    before = len(executions().list())

    with pytest.raises(InvalidReplay) as caught:
        executions().replay(source, **kwargs)

    for needle in needles:
        assert needle in str(caught.value)
    assert len(executions().list()) == before
    assert calls == Counter()


def test_an_ambiguous_name_lists_the_operation_ids() -> None:
    source = repeated.run().exec_id
    ids = [op.op_id for op in executions().get(source).operations]

    with pytest.raises(InvalidReplay, match="ambiguous: it ran 2 times") as caught:
        repeated.replay(source, from_="step")
    assert all(op_id in str(caught.value) for op_id in ids)

    handle = repeated.replay(source, overrides={f"checkpoint.{ids[1]}": 40})
    assert handle.wait() == 41


def test_replaying_another_flows_execution_is_an_error() -> None:
    source = repeated.run().exec_id
    with pytest.raises(InvalidReplay, match="ran flow 'repeated', not 'article'"):
        article.replay(source)


@flow
async def async_article(topic: str) -> str:
    notes = research(topic)
    await asyncio.sleep(0)
    return polish(notes)


def test_async_flows_replay_through_the_client_and_flow_replay() -> None:
    source = asyncio.run(async_article.run("owls")).exec_id
    calls.clear()

    assert executions().replay(source, from_="polish").wait() == "NOTES ON OWLS"
    handle = asyncio.run(async_article.replay(source, overrides={"checkpoint.polish": "done"}))
    assert handle.wait() == "done"
    assert calls == Counter({"polish": 1})
