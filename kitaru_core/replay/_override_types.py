"""A replay's ``checkpoint.NAME`` override checked against that checkpoint's return annotation.

The override stands in for what the checkpoint returned, so it must be a value the checkpoint
could have returned: ``5`` is not a ``str``. Validation is strict (no coercion of numbers to
strings, or of ``true`` to an int); JSON forms that a JSON override can only spell as text or
lists (a date, a tuple) are accepted as Pydantic reads them from JSON, and the override is then
stored as the annotated type (a dict becomes the model it describes).
"""

from __future__ import annotations

import json
import typing
from typing import TYPE_CHECKING, Any

from kitaru_core.engine._code import checkpoints_named
from kitaru_core.errors import InvalidReplay

if TYPE_CHECKING:
    from kitaru_core.engine._code import FlowLike as Flow

_NOT_FOUND = object()


def return_annotation(flow: Flow, name: str, kind: str) -> Any:
    """The return annotation of the checkpoint ``name`` of ``kind`` that ``flow`` calls, or
    ``_NOT_FOUND`` when no checkpoint by that name is loaded, it has none, or several disagree."""
    found = [c for c in checkpoints_named(name) if c.spec.kind == kind]
    local = [c for c in found if getattr(c.func, "__module__", None) == flow.func.__module__]
    hints = {_hint(c) for c in (local or found)}
    hints.discard(_NOT_FOUND)
    return hints.pop() if len(hints) == 1 else _NOT_FOUND


def _hint(checkpoint: Any) -> Any:
    try:
        return typing.get_type_hints(checkpoint.func).get("return", _NOT_FOUND)
    except Exception:  # unresolvable names, a partial or a callable object
        return _NOT_FOUND


def check_override(flow: Flow, name: str, kind: str, value: Any, key: str) -> Any:
    """``value`` as the checkpoint's annotated return type; InvalidReplay if it is not one."""
    hint = return_annotation(flow, name, kind)
    if hint is _NOT_FOUND:
        return value
    adapter = _adapter(hint)
    if adapter is None:
        return value
    from pydantic import ValidationError

    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        error = exc
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        text = None
    if text is not None:
        try:
            return adapter.validate_json(text, strict=True)
        except ValidationError as exc:
            error = exc
    from kitaru_core.waits._answers import validation_message

    raise InvalidReplay(
        f"Override {key!r} must be a {_type_name(hint)}, what checkpoint {name!r} returns: "
        f"{validation_message(error)}. Pass a value of that type."
    ) from error


def _adapter(hint: Any) -> Any:
    from pydantic import ConfigDict, PydanticSchemaGenerationError, TypeAdapter

    try:
        return TypeAdapter(hint)
    except PydanticSchemaGenerationError:  # a plain class: checked with isinstance
        pass
    except Exception:
        return None
    try:
        return TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:
        return None


def _type_name(hint: Any) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__qualname__
    return str(hint).replace("typing.", "")
