"""Who owns a running execution, whether that owner is alive, and keeping leases fresh."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kitaru_core.store._store import Store

LEASE_SECONDS = 60.0
RENEW_EVERY = LEASE_SECONDS / 3
_HOST = socket.gethostname()
_TOKEN = os.urandom(4).hex()


def my_owner_id() -> str:
    """``host:pid:token`` of this process (the token tells a reused pid apart)."""
    return f"{_HOST}:{os.getpid()}:{_TOKEN}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def owner_alive(owner: str | None, lease_expires_at: float | None) -> bool:
    """False when the owner is provably gone: a dead local pid, or an expired lease."""
    if not owner:
        return False
    if owner == my_owner_id():
        return True
    host, _, rest = owner.partition(":")
    if host == _HOST:
        pid = int(rest.split(":", 1)[0])
        if pid != os.getpid():
            return _pid_alive(pid)
    return lease_expires_at is not None and lease_expires_at > time.time()


class LeaseKeeper:
    """A daemon thread that renews the leases of every execution this process runs."""

    def __init__(self) -> None:
        self._held: dict[str, Store] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, exec_id: str, store: Store) -> None:
        with self._lock:
            self._held[exec_id] = store
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="kitaru-lease", daemon=True)
                self._thread.start()

    def release(self, exec_id: str) -> None:
        with self._lock:
            self._held.pop(exec_id, None)

    def _loop(self) -> None:
        while True:
            time.sleep(RENEW_EVERY)
            with self._lock:
                by_store: dict[int, tuple[Store, list[str]]] = {}
                for exec_id, store in self._held.items():
                    by_store.setdefault(id(store), (store, []))[1].append(exec_id)
            for store, exec_ids in by_store.values():
                try:
                    store.renew_leases(my_owner_id(), exec_ids, time.time() + LEASE_SECONDS)
                except Exception:  # a missed renewal only shortens the lease
                    continue


leases = LeaseKeeper()
