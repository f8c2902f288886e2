"""Answers are validated against a type rebuilt from the wait's stored JSON schema."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from kitaru_core.waits._schema_types import adapter_for, normalize


class Line(BaseModel):
    sku: str
    qty: Annotated[int, Field(ge=1, le=10)]


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[Line]
    rush: bool = False
    kind: Literal["retail", "wholesale"] = "retail"
    due: datetime.date | None = None
    parent: Order | None = None


def check(schema_type: Any, value: Any) -> Any:
    """Validate through the rebuilt type, and check the real type accepts what it produced."""
    schema = TypeAdapter(schema_type).json_schema()
    normalized = normalize(adapter_for(schema), value)
    TypeAdapter(schema_type).validate_python(normalized)
    return normalized


@pytest.mark.parametrize(
    ("schema_type", "value", "expected"),
    [
        (bool, "yes", True),
        (int, "7", 7),
        (float, 2, 2.0),
        (str, "hi", "hi"),
        (list[int], ["1", 2], [1, 2]),
        (dict[str, int], {"a": "1"}, {"a": 1}),
        (tuple[int, str], [1, "x"], [1, "x"]),
        (Literal["a", "b"], "b", "b"),
        (int | None, None, None),
        (datetime.datetime, "2026-01-02T03:04:05", "2026-01-02T03:04:05"),
        (Any, {"free": ["form"]}, {"free": ["form"]}),
    ],
)
def test_plain_types(schema_type: Any, value: Any, expected: Any) -> None:
    assert check(schema_type, value) == expected


@pytest.mark.parametrize(
    ("schema_type", "value"),
    [
        (bool, "maybe"),
        (int, "seven"),
        (list[int], "1,2"),
        (Literal["a", "b"], "c"),
        (Annotated[int, Field(ge=0)], -1),
        (Annotated[str, Field(max_length=3)], "long"),
        (Annotated[str, Field(pattern=r"^\d+$")], "12a"),
    ],
)
def test_wrong_values_are_rejected(schema_type: Any, value: Any) -> None:
    schema = TypeAdapter(schema_type).json_schema()
    with pytest.raises(ValueError):
        normalize(adapter_for(schema), value)


def test_nested_models_with_refs_defaults_and_recursion() -> None:
    value = {"lines": [{"sku": "a", "qty": "2"}], "parent": {"lines": []}}
    assert check(Order, value) == {
        "lines": [{"sku": "a", "qty": 2}],
        "parent": {"lines": []},
    }
    schema = Order.model_json_schema()
    with pytest.raises(ValueError, match="qty"):
        normalize(adapter_for(schema), {"lines": [{"sku": "a", "qty": 11}]})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        normalize(adapter_for(schema), {"lines": [], "colour": "red"})
    with pytest.raises(ValueError, match="kind"):
        normalize(adapter_for(schema), {"lines": [], "kind": "gift"})


def test_property_names_that_are_not_identifiers_keep_their_names() -> None:
    schema = {
        "type": "object",
        "properties": {"first-name": {"type": "string"}, "class": {"type": "integer"}},
        "required": ["first-name"],
    }
    assert normalize(adapter_for(schema), {"first-name": "Ada", "class": "3"}) == {
        "first-name": "Ada",
        "class": 3,
    }
    with pytest.raises(ValueError, match="first-name"):
        normalize(adapter_for(schema), {"class": 3})


def test_an_empty_or_unknown_schema_accepts_anything() -> None:
    assert normalize(adapter_for({}), [1, {"a": None}]) == [1, {"a": None}]
    assert normalize(adapter_for({"type": "mystery"}), "x") == "x"
