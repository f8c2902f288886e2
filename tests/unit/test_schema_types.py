"""Answers are checked strictly against the wait's stored JSON schema (issue 7).

The answer must already have the schema's JSON type: nothing is coerced (``1`` is no boolean,
``true`` no integer), while strings in a format the flow parses (a date, an enum member) stay
valid. Whoever answers may not be able to import the flow's code, so this check is all they have.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from kitaru_core.errors import InvalidWaitAnswer
from kitaru_core.store._records import WaitRecord
from kitaru_core.waits._answers import validate_answer


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Line(BaseModel):
    sku: str
    qty: Annotated[int, Field(ge=1, le=10)]


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[Line]
    rush: bool = False
    kind: Literal["retail", "wholesale"] = "retail"
    colour: Colour = Colour.RED
    due: datetime.date | None = None
    parent: Order | None = None


def row_for(schema_type: Any) -> WaitRecord:
    schema = TypeAdapter(schema_type).json_schema()
    return WaitRecord("kr-test", "pick:0", "pick", "pending", 0.0, schema=schema)


def check(schema_type: Any, value: Any) -> Any:
    """Check through the stored schema, and that the real type accepts what was stored."""
    checked = validate_answer(row_for(schema_type), value)
    TypeAdapter(schema_type).validate_json(__import__("json").dumps(checked))
    return checked


def refused(schema_type: Any, value: Any) -> str:
    with pytest.raises(InvalidWaitAnswer) as caught:
        validate_answer(row_for(schema_type), value)
    return str(caught.value)


@pytest.mark.parametrize("value", [1, 0, "true", "yes"])
def test_bool_wait_answer_is_not_coerced_from_1_or_true_string(value: Any) -> None:
    assert "is not of type 'boolean'" in refused(bool, value)


@pytest.mark.parametrize("value", [True, 1.5, "7"])
def test_int_wait_answer_rejects_true_fractions_and_numeric_strings(value: Any) -> None:
    assert "is not of type 'integer'" in refused(int, value)


def test_nested_model_answer_checks_enum_and_date_strings() -> None:
    good = {
        "lines": [{"sku": "a", "qty": 2}],
        "colour": "green",
        "due": "2026-03-01",
        "parent": {"lines": [], "kind": "wholesale"},
    }
    assert check(Order, good) == good
    assert "'blue' is not one of ['red', 'green']" in refused(Order, {**good, "colour": "blue"})
    assert "'gift' is not one of" in refused(Order, {**good, "kind": "gift"})
    assert "'2026-02-30' is not a 'date'" in refused(Order, {**good, "due": "2026-02-30"})
    assert "'soon' is not a 'date'" in refused(Order, {**good, "due": "soon"})
    assert "is not of type 'integer'" in refused(
        Order, {**good, "lines": [{"sku": "a", "qty": "2"}]}
    )
    assert "'COLOUR' was unexpected" in refused(Order, {"lines": [], "COLOUR": "red"})


def test_invalid_answer_error_names_the_wait_and_the_path_of_the_failing_field() -> None:
    message = refused(Order, {"lines": [{"sku": "a", "qty": 11}], "parent": {"lines": [{}]}})
    assert "wait 'pick' of execution kr-test" in message
    assert "lines[0].qty: 11 is greater than the maximum of 10" in message
    assert "parent.lines[0].sku: is required" in message
    assert "Nothing was stored" in message


@pytest.mark.parametrize(
    ("schema_type", "value"),
    [
        (float, 2),
        (str, "hi"),
        (list[int], [1, 2]),
        (dict[str, int], {"a": 1}),
        (tuple[int, str], [1, "x"]),
        (Literal["a", "b"], "b"),
        (int | None, None),
        (datetime.datetime, "2026-01-02T03:04:05"),
        (datetime.datetime, "2026-01-02T03:04:05+02:00"),
        (datetime.time, "03:04:05"),
        (Any, {"free": ["form"]}),
    ],
)
def test_values_of_the_right_json_type_are_stored_as_given(schema_type: Any, value: Any) -> None:
    assert check(schema_type, value) == value


@pytest.mark.parametrize(
    ("schema_type", "value"),
    [
        (bool, "maybe"),
        (list[int], "1,2"),
        (list[int], ["1", 2]),
        (Literal["a", "b"], "c"),
        (Annotated[int, Field(ge=0)], -1),
        (Annotated[str, Field(max_length=3)], "long"),
        (Annotated[str, Field(pattern=r"^\d+$")], "12a"),
        (datetime.datetime, "yesterday"),
        (tuple[int, str], [1, 2]),
    ],
)
def test_wrong_values_are_rejected(schema_type: Any, value: Any) -> None:
    refused(schema_type, value)


def test_python_values_are_checked_in_their_json_form() -> None:
    assert check(datetime.date, datetime.date(2026, 1, 2)) == "2026-01-02"
    assert check(Line, Line(sku="a", qty=3)) == {"sku": "a", "qty": 3}
    assert check(tuple[int, str], (1, "x")) == [1, "x"]


def test_property_names_that_are_not_identifiers_keep_their_names() -> None:
    schema = {
        "type": "object",
        "properties": {"first-name": {"type": "string"}, "class": {"type": "integer"}},
        "required": ["first-name"],
    }
    row = WaitRecord("kr-test", "who:0", "who", "pending", 0.0, schema=schema)
    assert validate_answer(row, {"first-name": "Ada", "class": 3}) == {
        "first-name": "Ada",
        "class": 3,
    }
    with pytest.raises(InvalidWaitAnswer, match="first-name: is required"):
        validate_answer(row, {"class": 3})


def test_an_empty_schema_accepts_anything() -> None:
    row = WaitRecord("kr-test", "any:0", "any", "pending", 0.0, schema={})
    assert validate_answer(row, [1, {"a": None}]) == [1, {"a": None}]
