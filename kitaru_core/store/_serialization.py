"""Turning values into stored bytes and back, through serializers that plugins register."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from kitaru_core.errors import SerializationError
from kitaru_core.hooktypes import RegisterSerializer, Serializer  # defined there for plugin authors
from kitaru_core.plugins import get_plugin_manager, on_change


class SerializerRegistry:
    """Serializers ordered by priority (lowest first); the first that accepts a value wins."""

    def __init__(self, serializers: list[Serializer]) -> None:
        self._ordered = sorted(serializers, key=lambda s: s.priority)
        self._by_name = {s.name: s for s in self._ordered}

    @property
    def names(self) -> list[str]:
        """Codec names in the order they are tried."""
        return [s.name for s in self._ordered]

    def dumps(self, value: Any, *, what: str) -> tuple[str, bytes]:
        """Return ``(codec, data)`` for ``value``; ``what`` names the value in errors."""
        failures = []
        for serializer in self._ordered:
            if not serializer.accepts(value):
                continue
            try:
                return serializer.name, serializer.dumps(value)
            except Exception as exc:
                failures.append(f"{serializer.name}: {exc}")
        tried = f" ({'; '.join(failures)})" if failures else ""
        raise SerializationError(
            f"{what} is a {type_path(type(value))} that no serializer can store{tried}. "
            "Return JSON-compatible data, a Pydantic model, a dataclass or bytes, "
            "or register a serializer plugin (docs/plugins/hooks.md)."
        )

    def loads(self, codec: str, data: bytes, *, what: str) -> Any:
        """Decode ``data`` written with ``codec``."""
        serializer = self._by_name.get(codec)
        if serializer is None:
            raise SerializationError(
                f"{what} was stored with codec {codec!r}, which no installed plugin provides. "
                "Install the plugin that wrote it (see `kitaru plugins`)."
            )
        try:
            return serializer.loads(data)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(f"{what} could not be decoded with {codec!r}: {exc}") from exc


def type_path(cls: type) -> str:
    """``module:qualname`` of a class (a flow script's module is ``__main__``)."""
    return f"{canonical_module(cls.__module__)}:{cls.__qualname__}"


MAIN_MODULE_ALIASES: list[str] = []
"""Module names that stand in for ``__main__`` when a script's flow is re-imported."""

SCRIPT_MODULE = "__kitaru_main__"
"""The module name a flow script is imported under to resume it; it ran as ``__main__``."""


def canonical_module(module_name: str) -> str:
    """``__main__`` for a flow script's module, whether it runs as a script or was imported."""
    return "__main__" if module_name == SCRIPT_MODULE else module_name


def script_modules(module_name: str) -> list[str]:
    """Where to look for what ``module_name`` named: a script's ``__main__`` is found again
    under :data:`SCRIPT_MODULE` in a process that imported it, and the other way round."""
    if module_name not in ("__main__", SCRIPT_MODULE):
        return [module_name]
    return list(dict.fromkeys([module_name, "__main__", SCRIPT_MODULE, *MAIN_MODULE_ALIASES]))


def import_path(path: str) -> Any:
    """Import the object named by ``module:qualname``."""
    module_name, _, qualname = path.partition(":")
    for candidate in script_modules(module_name):
        try:
            obj: Any = importlib.import_module(candidate)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            continue
    raise SerializationError(
        f"Cannot import {path!r} to decode a stored value. "
        "Check that the code that defined it is importable."
    )


def pydantic_loaded() -> bool:
    """Pydantic is only worth checking for when something already imported it."""
    return "pydantic" in sys.modules


_registry: SerializerRegistry | None = None


def get_registry() -> SerializerRegistry:
    """The registry built from every plugin's ``register_serializers`` hook."""
    global _registry
    if _registry is None:
        found: list[Serializer] = []
        register: RegisterSerializer = found.append
        get_plugin_manager().hook.register_serializers(register=register)
        _registry = SerializerRegistry(found)
    return _registry


def reset_registry() -> None:
    """Rebuild the registry on next use (after a plugin is registered)."""
    global _registry
    _registry = None


on_change(reset_registry)
