"""Opening the current stack's store and artifact store, once per process."""

from __future__ import annotations

import threading

from kitaru_core._config import Settings, Stack, load_settings
from kitaru_core._stacks import expand_env, hide_password
from kitaru_core.errors import (
    ConfigurationError,
    StackUnavailable,
    StoreError,
    StoreUnavailable,
)
from kitaru_core.hooktypes import ArtifactStore
from kitaru_core.plugins import get_plugin_manager
from kitaru_core.store._store import Store

_lock = threading.Lock()
_stores: dict[tuple[str, str], Store] = {}
_blob_stores: dict[str, ArtifactStore] = {}
_checked: set[tuple[str, str, str]] = set()


def open_store(url: str, durability: str = "process") -> Store:
    """The store for ``url`` (resolved through the ``resolve_store`` hook), cached.

    ``${VAR}`` references in ``url`` are replaced by the variables' values here, at use.
    """
    url = expand_env(url, what="store URL")
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
    """The artifact store for ``url`` (``resolve_artifact_store`` hook), cached; ``${VAR}``
    references are resolved here."""
    url = expand_env(url, what="artifact URL")
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


def check_stack(stack: Stack, durability: str = "process", *, again: bool = False) -> None:
    """Refuse ``stack`` with :class:`StackUnavailable` unless its store answers a query and its
    artifact store can be written; checked once per process unless ``again``.

    Run before anything runs on a stack, so an unreachable artifact store is found before the
    first large value, not in the middle of a flow.
    """
    key = (stack.store_url, stack.artifact_url, durability)
    if key in _checked and not again:
        return
    shown = hide_password(stack.store_url)
    try:
        store = open_store(stack.store_url, durability)
        store.list_executions(limit=1)
    except StoreUnavailable as exc:  # other store errors (not a store, read-only) stay as they are
        raise StackUnavailable(stack.name, "store", shown, f"cannot be reached: {exc}") from exc
    shown = hide_password(stack.artifact_url)
    try:
        blobs = open_blob_store(stack.artifact_url)
        check = getattr(blobs, "check", None)  # plugin artifact stores may not have it
        if check is not None:
            check()
    except StoreError as exc:
        raise StackUnavailable(
            stack.name, "artifact store", shown, f"cannot be used: {exc}"
        ) from exc
    _checked.add(key)


def close_all() -> None:
    """Dispose every cached store (tests, ``configure`` switching stacks)."""
    with _lock:
        _checked.clear()
        for store in _stores.values():
            store.close()
        _stores.clear()
        for blobs in _blob_stores.values():
            close = getattr(blobs, "close", None)  # optional: a server's connection pool
            if close is not None:
                close()
        _blob_stores.clear()
