"""Opening the current stack's store and artifact store, once per process."""

from __future__ import annotations

import threading

from kitaru_core._config import Settings, load_settings
from kitaru_core.errors import ConfigurationError
from kitaru_core.hooktypes import ArtifactStore
from kitaru_core.plugins import get_plugin_manager
from kitaru_core.store._store import Store

_lock = threading.Lock()
_stores: dict[tuple[str, str], Store] = {}
_blob_stores: dict[str, ArtifactStore] = {}


def open_store(url: str, durability: str = "process") -> Store:
    """The store for ``url`` (resolved through the ``resolve_store`` hook), cached."""
    key = (url, durability)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = get_plugin_manager().hook.resolve_store(url=url, durability=durability)
                if store is None:
                    raise ConfigurationError(
                        f"No plugin handles the store URL {url!r}. Use sqlite:///PATH or "
                        "postgresql+psycopg://..., or install the plugin for that scheme."
                    )
                _stores[key] = store
    return store


def open_blob_store(url: str) -> ArtifactStore:
    """The artifact store for ``url`` (``resolve_artifact_store`` hook), cached."""
    blobs = _blob_stores.get(url)
    if blobs is None:
        blobs = get_plugin_manager().hook.resolve_artifact_store(url=url)
        if blobs is None:
            raise ConfigurationError(f"No plugin handles the artifact URL {url!r}.")
        _blob_stores[url] = blobs
    return blobs


def current_store(settings: Settings | None = None) -> Store:
    """The store of the active stack."""
    settings = settings or load_settings()
    return open_store(settings.stack.store_url, settings.durability)


def current_blob_store(settings: Settings | None = None) -> ArtifactStore:
    """The artifact store of the active stack."""
    settings = settings or load_settings()
    return open_blob_store(settings.stack.artifact_url)


def close_all() -> None:
    """Dispose every cached store (tests, ``configure`` switching stacks)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _blob_stores.clear()
