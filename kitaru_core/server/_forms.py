"""Forms built from a wait's JSON schema, and their answers read back into a value."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FormField:
    """One input of a wait's form."""

    name: str
    label: str
    widget: str
    """``checkbox``, ``number``, ``integer``, ``text``, ``select`` or ``json``."""
    options: list[str] = field(default_factory=list)
    required: bool = False


def form_fields(schema: dict[str, Any] | None) -> list[FormField]:
    """The inputs for an answer of ``schema``: one per property of an object, else one
    ``value`` field; anything without a simple widget is a JSON text area."""
    schema = schema or {}
    props = schema.get("properties")
    if schema.get("type") == "object" and isinstance(props, dict) and props:
        required = set(schema.get("required") or ())
        return [
            _field(name, sub if isinstance(sub, dict) else {}, name in required)
            for name, sub in props.items()
        ]
    field = _field("value", schema, True)
    if field.label == "value":
        field.label = "Answer"
    return [field]


def _field(name: str, schema: dict[str, Any], required: bool) -> FormField:
    label = str(schema.get("title") or name)
    if "enum" in schema:
        return FormField(name, label, "select", [json.dumps(v) for v in schema["enum"]], required)
    kind = schema.get("type")
    widget = {"boolean": "checkbox", "number": "number", "integer": "integer", "string": "text"}
    return FormField(name, label, widget.get(str(kind), "json"), required=required)


def form_value(schema: dict[str, Any] | None, form: dict[str, str]) -> Any:
    """The answer the submitted ``form`` stands for (checked against the schema later, by
    the wait itself); ValueError naming the field when one cannot be read."""
    fields = form_fields(schema)
    values = {f.name: _read(f, form.get(f"field_{f.name}")) for f in fields}
    if len(fields) == 1 and fields[0].name == "value" and "properties" not in (schema or {}):
        return values["value"]
    return {k: v for k, v in values.items() if v is not None}


def _read(f: FormField, raw: str | None) -> Any:
    if f.widget == "checkbox":
        return raw is not None
    if raw is None or (raw == "" and f.widget != "text"):
        return None
    try:
        if f.widget == "number":
            return float(raw)
        if f.widget == "integer":
            return int(raw)
        if f.widget in ("select", "json"):
            return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"Field {f.label!r}: {exc}") from exc
    return raw
