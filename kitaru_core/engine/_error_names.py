"""The one public spelling of error types: ``kitaru.X`` for Kitaru's own errors.

Kitaru's errors live in ``kitaru_core.errors`` and are imported by users from ``kitaru``; stored
errors name them ``kitaru.X`` (as ``kitaru.ProcessDied``), and records stored before with
``kitaru_core.errors.X`` are shown with the same public name.
"""

from __future__ import annotations

from typing import Any

from kitaru_core import errors

_PRIVATE_PREFIX = f"{errors.__name__}."
PUBLIC_MODULE = "kitaru"


def _is_kitaru_error(name: str) -> bool:
    cls = getattr(errors, name, None)
    return isinstance(cls, type) and issubclass(cls, errors.KitaruError)


def error_type_name(cls: type[BaseException]) -> str:
    """What is stored as the type of an exception of class ``cls``."""
    if cls.__module__ == errors.__name__ and _is_kitaru_error(cls.__qualname__):
        return f"{PUBLIC_MODULE}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def public_type_name(stored: str) -> str:
    """A stored error type as users see it (``kitaru_core.errors.X`` becomes ``kitaru.X``)."""
    if stored.startswith(_PRIVATE_PREFIX):
        name = stored[len(_PRIVATE_PREFIX) :]
        if _is_kitaru_error(name):
            return f"{PUBLIC_MODULE}.{name}"
    return stored


def public_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored error dict with its type in the public spelling."""
    if not error or not isinstance(error.get("type"), str):
        return error
    public = public_type_name(error["type"])
    return error if public == error["type"] else {**error, "type": public}
