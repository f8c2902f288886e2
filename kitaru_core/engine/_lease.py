"""Who owns a running execution, whether that owner is alive, and keeping leases fresh.

An owner id names one process: ``host:pid:token:boot_id:pidns:start``, where ``boot_id`` is
the kernel's boot id, ``pidns`` the inode of the process's PID namespace and ``start`` the
pid's start time in clock ticks since boot (``/proc/PID/stat`` field 22). Outside Linux the
last three are empty or 0.

An owner is dead when its lease has expired, or when it runs in this process's PID namespace
(same boot id and namespace inode) and its pid no longer exists or now belongs to a process
started at another time. A pid in another namespace means nothing here (containers sharing a
hostname, Kubernetes ``hostNetwork``), so such an owner lives as long as its lease.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kitaru_core.store._store import Store

LEASE_SECONDS = 60.0
"""Default lease length; the ``lease_seconds`` setting (``KITARU_LEASE_SECONDS``) changes it."""
RENEWALS_PER_LEASE = 3
"""The heartbeat renews a lease this many times per lease length."""

_HOST = socket.gethostname()
_TOKEN = os.urandom(4).hex()
_HAS_PID_NAMESPACES = sys.platform.startswith("linux")


@dataclass(frozen=True, slots=True)
class Owner:
    """The parts of an owner id."""

    host: str
    pid: int
    token: str
    boot_id: str = ""
    pidns: int = 0
    start: int = 0

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}:{self.boot_id}:{self.pidns}:{self.start}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner an id names, or None for an id this format does not describe."""
        parts = text.rsplit(":", 5)
        if len(parts) != 6:
            return None  # ``host:pid:token``, written by Kitaru before namespaces were recorded
        host, pid, token, boot_id, pidns, start = parts
        try:
            return cls(host, int(pid), token, boot_id, int(pidns), int(start))
        except ValueError:
            return None

    @property
    def namespace(self) -> tuple[str, int] | None:
        """``(boot id, PID-namespace inode)``, or None when unknown."""
        return (self.boot_id, self.pidns) if self.boot_id and self.pidns else None


def _start_time(pid: int | str) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return None
    return int(fields[19])


def _namespace() -> tuple[str, int]:
    """This process's boot id and PID-namespace inode, or ``("", 0)`` where /proc cannot tell."""
    if not _HAS_PID_NAMESPACES:
        return "", 0
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            boot_id = handle.read().strip()
        pidns = os.stat("/proc/self/ns/pid").st_ino
        # /proc mounted for another PID namespace names other processes by our pids.
        proc_is_ours = os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return "", 0
    return (boot_id, pidns) if proc_is_ours else ("", 0)


_mine: tuple[int, Owner] | None = None


def my_owner() -> Owner:
    """This process as an :class:`Owner` (computed once per pid, so a fork gets its own)."""
    global _mine
    pid = os.getpid()
    cached = _mine
    if cached is not None and cached[0] == pid:
        return cached[1]
    boot_id, pidns = _namespace()
    start = (_start_time("self") or 0) if boot_id else 0
    owner = Owner(_HOST, pid, _TOKEN, boot_id, pidns, start)
    _mine = (pid, owner)
    return owner


def my_owner_id() -> str:
    """The owner id of this process (see the module docstring)."""
    return str(my_owner())


def _pid_matches(owner: Owner) -> bool:
    """Whether ``owner``'s pid, in this PID namespace, is still the process that recorded it."""
    if _HAS_PID_NAMESPACES:
        start = _start_time(owner.pid)
        return start is not None and (not owner.start or start == owner.start)
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _in_my_namespace(owner: Owner) -> bool:
    """Whether ``owner``'s pid can be checked here: same boot and PID namespace."""
    mine = my_owner()
    if mine.namespace is not None:
        return owner.namespace == mine.namespace
    # No PID namespaces on this platform: the host is the namespace.
    return not _HAS_PID_NAMESPACES and not owner.boot_id and owner.host == mine.host


def owner_alive(owner: str | None, lease_expires_at: float | None) -> bool:
    """False when the owner is provably gone: its lease expired, or its local pid is gone."""
    if not owner or lease_expires_at is None or lease_expires_at <= time.time():
        return False
    parsed = Owner.parse(owner)
    if parsed is None or owner == my_owner_id():
        return True
    if _in_my_namespace(parsed):
        return _pid_matches(parsed)
    return True


class LeaseKeeper:
    """A daemon thread that renews the leases of every execution this process runs."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[Store, float]] = {}
        self._due: dict[str, float] = {}
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def hold(self, exec_id: str, store: Store, lease_seconds: float = LEASE_SECONDS) -> None:
        """Renew ``exec_id``'s lease of ``lease_seconds`` until :meth:`release`."""
        with self._wake:
            self._held[exec_id] = (store, lease_seconds)
            self._due[exec_id] = time.monotonic() + lease_seconds / RENEWALS_PER_LEASE
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="kitaru-lease", daemon=True)
                self._thread.start()
            self._wake.notify()  # a shorter lease than the others is due sooner

    def release(self, exec_id: str) -> None:
        """Stop renewing ``exec_id``'s lease."""
        with self._wake:
            self._held.pop(exec_id, None)
            self._due.pop(exec_id, None)

    def _take_due(self) -> dict[tuple[int, float], tuple[Store, list[str]]]:
        """Wait until some lease is due; return them by (store, lease length)."""
        with self._wake:
            while True:
                now = time.monotonic()
                due = [exec_id for exec_id, at in self._due.items() if at <= now]
                if due:
                    break
                next_at = min(self._due.values(), default=now + LEASE_SECONDS)
                self._wake.wait(next_at - now)
            groups: dict[tuple[int, float], tuple[Store, list[str]]] = {}
            for exec_id in due:
                store, seconds = self._held[exec_id]
                self._due[exec_id] = now + seconds / RENEWALS_PER_LEASE
                groups.setdefault((id(store), seconds), (store, []))[1].append(exec_id)
            return groups

    def _loop(self) -> None:
        while True:
            for (_, seconds), (store, exec_ids) in self._take_due().items():
                try:
                    store.renew_leases(my_owner_id(), exec_ids, time.time() + seconds)
                except Exception:  # a missed renewal only shortens the lease
                    continue


leases = LeaseKeeper()
