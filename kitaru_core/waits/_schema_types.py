"""Rebuilding a Pydantic validator from a stored JSON schema.

A wait stores the JSON schema of its type. Whoever answers it (the client, the CLI, a server) may
not be able to import the flow's code, so the answer is checked against a type rebuilt from that
schema: the common JSON-schema vocabulary Pydantic itself emits (types, enums, constants, unions,
arrays, objects with required fields, ``$defs`` references and the usual numeric and string
constraints). Anything it does not know is accepted as is; the flow validates the answer against
the real type again when it resumes.
"""

from __future__ import annotations

import datetime
import keyword
import uuid
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import ConfigDict, Field, TypeAdapter, create_model

_MAX_DEPTH = 32
_TUPLE: Any = tuple  # subscripted with types built at run time
_LIST: Any = list
_DICT: Any = dict
_FORMATS: dict[str, Any] = {
    "date-time": datetime.datetime,
    "date": datetime.date,
    "time": datetime.time,
    "duration": datetime.timedelta,
    "uuid": uuid.UUID,
}
_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_length",
    "maxItems": "max_length",
}


class _Builder:
    """Turns one schema (with its ``$defs``) into Python types, caching named models."""

    def __init__(self, root: dict[str, Any]) -> None:
        self._defs: dict[str, Any] = root.get("$defs") or root.get("definitions") or {}
        self._models: dict[str, Any] = {}

    def build(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return Any
        if "$ref" in schema:
            return self._ref(schema["$ref"], depth)
        if "const" in schema:
            return Literal[schema["const"]]
        if "enum" in schema:
            return Literal[tuple(schema["enum"])]
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                options = tuple(self.build(s, depth + 1) for s in schema[combinator])
                return Union[options] if options else Any  # noqa: UP007
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.build(schema["allOf"][0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            options = tuple(self.build({**schema, "type": k}, depth + 1) for k in kind)
            return Union[options] if options else Any  # noqa: UP007
        return self._constrained(self._typed(kind, schema, depth), schema)

    def _typed(self, kind: Any, schema: dict[str, Any], depth: int) -> Any:
        if kind == "boolean":
            return bool
        if kind == "integer":
            return int
        if kind == "number":
            return float
        if kind == "null":
            return type(None)
        if kind == "string":
            return _FORMATS.get(schema.get("format", ""), str)
        if kind == "array":
            if "prefixItems" in schema:
                items = tuple(self.build(s, depth + 1) for s in schema["prefixItems"])
                return _TUPLE[items] if items else _TUPLE[()]
            return _LIST[self.build(schema.get("items", {}), depth + 1)]
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        return Any

    def _constrained(self, base: Any, schema: dict[str, Any]) -> Any:
        limits = {_CONSTRAINTS[k]: v for k, v in schema.items() if k in _CONSTRAINTS}
        if not limits or base is Any:
            return base
        return Annotated[base, Field(**limits)]

    def _ref(self, ref: str, depth: int) -> Any:
        name = ref.rsplit("/", 1)[-1]
        if name in self._models:
            return self._models[name]
        target = self._defs.get(name)
        if target is None:
            return Any
        self._models[name] = Any  # a recursive reference ends here rather than looping
        built = self.build(target, depth + 1)
        self._models[name] = built
        return built

    def _object(self, schema: dict[str, Any], depth: int) -> Any:
        properties: dict[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        if not properties:
            value = self.build(extra, depth + 1) if isinstance(extra, dict) else Any
            return _DICT[str, value]
        required = set(schema.get("required", []))
        fields: dict[str, Any] = {}
        for index, (prop, sub) in enumerate(properties.items()):
            annotation = self.build(sub, depth + 1)
            default = (
                ... if prop in required else sub.get("default") if isinstance(sub, dict) else None
            )
            if prop not in required and default is None:
                annotation = Optional[annotation]  # noqa: UP045
            safe = prop if prop.isidentifier() and not keyword.iskeyword(prop) else f"field_{index}"
            if safe.startswith("_") or safe.startswith("model_"):
                safe = f"field_{index}"
            fields[safe] = (annotation, Field(default, alias=prop))
        config = ConfigDict(
            extra="forbid" if extra is False else "allow",
            populate_by_name=False,
            protected_namespaces=(),
        )
        title = str(schema.get("title") or "Answer")
        model_name = "".join(ch for ch in title if ch.isalnum()) or "Answer"
        return create_model(model_name, __config__=config, **fields)


def adapter_for(schema: dict[str, Any]) -> TypeAdapter[Any]:
    """A Pydantic ``TypeAdapter`` that validates values against the JSON ``schema``."""
    return TypeAdapter(_Builder(schema).build(schema))


def normalize(adapter: TypeAdapter[Any], value: Any) -> Any:
    """Validate ``value`` and return it as plain JSON data (models as dicts, by alias)."""
    validated = adapter.validate_python(value)
    return adapter.dump_python(validated, mode="json", by_alias=True, exclude_unset=True)
