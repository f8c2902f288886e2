"""Loading plugins: the built-in defaults first, then the ``kitaru`` entry-point group."""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from kitaru_core import hookspecs

DEFAULT_PLUGINS: tuple[str, ...] = (
    "kitaru_core.store._builtin_serializers",
    "kitaru_core.store._builtin_stores",
    "kitaru_core.runners._local",
    "kitaru_core.runners._procrastinate",
    "kitaru_core.runners._celery",
)


@dataclass
class PluginInfo:
    """What ``kitaru plugins`` shows for one plugin."""

    name: str
    module: str
    source: str
    hooks: list[str] = field(default_factory=list)
    extra: str | None = None
    missing: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def install_hint(self) -> str | None:
        """The command that installs what this plugin lacks."""
        if self.missing and self.extra:
            return f"pip install 'kitaru[{self.extra}]'"
        return None


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_infos: list[PluginInfo] = []
_listeners: list[Callable[[], None]] = []


def _describe(name: str, module: ModuleType, source: str) -> PluginInfo:
    requires: tuple[str, ...] = getattr(module, "REQUIRES", ())
    missing = [pkg for pkg in requires if importlib.util.find_spec(pkg) is None]
    return PluginInfo(
        name=name,
        module=module.__name__,
        source=source,
        extra=getattr(module, "EXTRA", None),
        missing=missing,
    )


def _build_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("kitaru")
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    for path in DEFAULT_PLUGINS:
        module = importlib.import_module(path)
        pm.register(module, name=path)
        infos.append(_describe(path.rsplit(".", 1)[-1].lstrip("_"), module, "builtin"))
    for ep in entry_points(group="kitaru"):
        if pm.has_plugin(ep.name):
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must never break `import kitaru`
            infos.append(PluginInfo(ep.name, ep.value, "entry point", error=repr(exc)))
            continue
        pm.register(module, name=ep.name)
        infos.append(_describe(ep.name, module, "entry point"))
    pm.check_pending()
    for info in infos:
        plugin = pm.get_plugin(info.name) or pm.get_plugin(info.module)
        if plugin is not None:
            info.hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
    _infos[:] = infos
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    global _manager
    if _manager is None:
        with _lock:
            if _manager is None:
                _manager = _build_manager()
    return _manager


def list_plugins() -> list[PluginInfo]:
    """Every plugin found, with its hooks and any missing extra."""
    get_plugin_manager()
    return list(_infos)


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object at run time (tests, notebooks); returns its name."""
    pm = get_plugin_manager()
    registered = pm.register(plugin, name=name)
    pm.check_pending()
    _invalidate_caches()
    return registered or ""


def unregister_plugin(name: str) -> None:
    """Undo :func:`register_plugin`."""
    get_plugin_manager().unregister(name=name)
    _invalidate_caches()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` after every :func:`register_plugin` or :func:`unregister_plugin`.

    Whatever is built from the hooks and cached (the serializer registry) resets itself this
    way, so this module needs to know none of them.
    """
    _listeners.append(listener)


def _invalidate_caches() -> None:
    for listener in _listeners:
        listener()
