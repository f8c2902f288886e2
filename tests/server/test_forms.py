"""Wait forms built from JSON schemas, read back into answers; sign-in redirects stay here."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from kitaru_core.server._forms import form_fields, form_value
from kitaru_core.server._pages import _safe_next, progress_text


def test_a_form_per_schema_shape_reads_back_the_answer() -> None:
    assert [f.widget for f in form_fields({"type": "boolean"})] == ["checkbox"]
    assert form_value({"type": "boolean"}, {"field_value": "true"}) is True
    assert form_value({"type": "boolean"}, {}) is False
    assert form_value({"enum": ["a", 2]}, {"field_value": "2"}) == 2
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer"}, "note": {"type": "string"}, "x": {}},
        "required": ["score"],
    }
    fields = form_fields(schema)
    assert [(f.name, f.widget, f.required) for f in fields] == [
        ("score", "integer", True),
        ("note", "text", False),
        ("x", "json", False),
    ]
    form = {"field_score": "7", "field_note": "ok", "field_x": '{"a": [1]}'}
    assert form_value(schema, form) == {"score": 7, "note": "ok", "x": {"a": [1]}}
    with pytest.raises(ValueError, match="score"):
        form_value(schema, {"field_score": "seven"})


def test_sign_in_redirects_only_to_paths_of_this_server() -> None:
    for target in ("http://evil.example", "//evil.example", "/\\evil.example", "", None):
        assert _safe_next(target) == "/"
    assert _safe_next("/executions/kr-1") == "/executions/kr-1"


def test_progress_lines_read_as_message_and_data() -> None:
    assert progress_text('{"message": "reading", "data": {"step": 2}}') == "reading (step=2)"
    assert progress_text("not json") == "not json"
