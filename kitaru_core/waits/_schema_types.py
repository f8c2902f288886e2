"""Checking an answer against a wait's stored JSON schema, strictly, with ``jsonschema``.

A wait stores the JSON schema of its type. Whoever answers it (the client, the CLI, a server) may
not be able to import the flow's code, so the answer is checked against that schema with the
``jsonschema`` library, which knows the whole vocabulary (``$ref``/``$defs``, ``anyOf``, enums,
constraints). Nothing is coerced: the answer must already have the schema's JSON type, so ``1``
is no boolean and ``true`` no integer. Strings in the formats Pydantic emits for dates, times,
durations and UUIDs are checked by the same parser the flow uses; other formats are left to the
flow, which validates the answer against its real type again when it resumes.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections import deque
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import FormatChecker
    from jsonschema.exceptions import ValidationError
    from pydantic import TypeAdapter

_FORMAT_TYPES: dict[str, Any] = {
    "date": datetime.date,
    "date-time": datetime.datetime,
    "time": datetime.time,
    "duration": datetime.timedelta,
    "uuid": uuid.UUID,
}
_MAX_PROBLEMS = 5


class SchemaMismatch(ValueError):
    """A value that does not match a JSON schema; ``problems`` are ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(describe(problems))


def describe(problems: list[tuple[str, str]]) -> str:
    """The problems on one line: ``path: what`` each, ``;``-separated."""
    return "; ".join(f"{path}: {what}" if path else what for path, what in problems)


@cache
def _format_adapter(name: str) -> TypeAdapter[Any]:
    """Pydantic's parser of the ``name`` format, built when a value of it is first checked."""
    from pydantic import TypeAdapter

    return TypeAdapter(_FORMAT_TYPES[name])


@cache
def _format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name in _FORMAT_TYPES:

        def parses(instance: object, name: str = name) -> bool:
            if isinstance(instance, str):  # a format says nothing about other JSON types
                _format_adapter(name).validate_json(json.dumps(instance))
            return True

        checker.checks(name, raises=ValueError)(parses)
    return checker


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data: models, dataclasses, dates and tuples in their JSON form."""
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    try:
        return json.loads(json.dumps(to_jsonable_python(value), allow_nan=False))
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SchemaMismatch([("", f"{value!r} has no JSON form ({exc})")]) from exc


def check(schema: dict[str, Any], value: Any) -> Any:
    """``value`` as JSON data when it matches ``schema``; else :class:`SchemaMismatch`."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for
    from referencing.exceptions import Unresolvable

    data = to_json(value)
    cls = validator_for(schema, default=Draft202012Validator)
    validator = cls(schema, format_checker=_format_checker())
    try:
        problems = _problems(validator.iter_errors(data))[:_MAX_PROBLEMS]
    except (SchemaError, Unresolvable) as exc:
        raise SchemaMismatch([("", f"the wait's stored schema cannot be checked ({exc})")]) from exc
    if problems:
        raise SchemaMismatch(problems)
    return data


def _problems(errors: Iterable[ValidationError]) -> list[tuple[str, str]]:
    """Each error as ``(path, message)``, in path order. An ``anyOf``/``oneOf`` error is told
    by the errors of its one branch of the value's JSON type (``Order | None`` given an object
    reports what is wrong in the object), or stays as it is when no single branch fits."""
    found: list[tuple[str, str]] = []
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            branches: dict[Any, list[ValidationError]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            fitting = [
                subs
                for subs in branches.values()
                if not any(s.validator == "type" and not s.relative_path for s in subs)
            ]
            if len(fitting) == 1:
                found.extend(_problems(fitting[0]))
                continue
        found.append(_problem(error))
    return sorted(found)


def _problem(error: ValidationError) -> tuple[str, str]:
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [p for p in error.validator_value if p not in error.instance]
        name = next((p for p in missing if repr(p) in error.message), None)
        if name is not None:
            return _path([*error.absolute_path, name]), "is required"
    return _path(error.absolute_path), error.message


def _path(parts: Iterable[Any] | deque[Any]) -> str:
    """``lines[0].qty`` for the path ``["lines", 0, "qty"]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text
