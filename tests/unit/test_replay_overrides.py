"""Replay overrides are checked against the checkpoint's return annotation before anything runs."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter

import pydantic
import pytest
from typer.testing import CliRunner

from kitaru import KitaruClient, checkpoint, flow
from kitaru_core.cli import app
from kitaru_core.errors import InvalidReplay

calls: Counter[str] = Counter()


class Plan(pydantic.BaseModel):
    steps: list[str]


@dataclasses.dataclass
class Slot:
    day: datetime.date
    hours: int


@checkpoint
def research(topic: str) -> str:
    calls["research"] += 1
    return f"notes on {topic}"


@checkpoint
def outline(notes: str) -> Plan:
    calls["outline"] += 1
    return Plan(steps=[notes, "end"])


@checkpoint
def schedule(plan: Plan) -> Slot:
    calls["schedule"] += 1
    return Slot(datetime.date(2024, 1, 1), len(plan.steps))


@checkpoint
def untyped(slot: Slot):  # type: ignore[no-untyped-def]  # no annotation: nothing to check
    calls["untyped"] += 1
    return slot.hours


@flow
def planner(topic: str) -> str:
    plan = outline(research(topic))
    slot = schedule(plan)
    hours = untyped(slot)
    return f"{'/'.join(plan.steps)} on {slot.day.isoformat()} for {hours}h"


def finished() -> str:
    exec_id = str(planner.run("owls").exec_id)
    calls.clear()
    return exec_id


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("checkpoint.research", 5, "str"),
        ("checkpoint.outline", {"steps": "not a list"}, "Plan"),
        ("checkpoint.schedule", {"day": "someday", "hours": 2}, "Slot"),
        ("checkpoint.schedule", {"day": "2024-02-03", "hours": True}, "Slot"),
    ],
)
def test_checkpoint_override_of_the_wrong_type_is_refused_before_anything_runs(
    key: str, value: object, expected: str
) -> None:
    source = finished()
    with pytest.raises(InvalidReplay, match=rf"{key}.*{expected}"):
        planner.replay(source, overrides={key: value})
    assert calls == {}
    assert len(KitaruClient().executions.list()) == 1  # no replay execution was created


def test_checkpoint_overrides_that_match_the_annotation_are_used_as_that_type() -> None:
    source = finished()
    # JSON, as the CLI passes it: read as the annotated model, not left a dict
    handle = planner.replay(source, overrides={"checkpoint.outline": {"steps": ["a", "b"]}})
    assert handle.wait() == "a/b on 2024-01-01 for 2h"
    assert calls == {"schedule": 1, "untyped": 1}
    calls.clear()
    slot = {"day": "2024-02-03", "hours": 5}
    assert planner.replay(source, overrides={"checkpoint.schedule": slot}).wait() == (
        "notes on owls/end on 2024-02-03 for 5h"
    )
    same = Slot(datetime.date(2024, 2, 3), 5)  # a Python value of the type itself
    assert planner.replay(source, overrides={"checkpoint.schedule": same}).wait() == (
        "notes on owls/end on 2024-02-03 for 5h"
    )
    replayed = planner.replay(source, overrides={"checkpoint.untyped": "anything"}).wait()
    assert replayed == "notes on owls/end on 2024-01-01 for anythingh"


def test_cli_replay_with_an_override_of_the_wrong_type_names_it_and_the_type() -> None:
    source = finished()
    result = CliRunner().invoke(
        app, ["executions", "replay", source, "--overrides", '{"checkpoint.research": 5}']
    )
    assert result.exit_code != 0
    assert "checkpoint.research" in result.output and "str" in result.output
    assert "Traceback" not in result.output
    assert calls == {}
    assert len(KitaruClient().executions.list()) == 1
