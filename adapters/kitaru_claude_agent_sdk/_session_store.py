"""``KitaruSessionStore``: the SDK's ``SessionStore`` on Kitaru's store (the toolkit's
``AdapterLog``), so a session transcript is wherever the stack is, on any machine sharing it.

Keys become stream names: ``<project_key>/<session_id>`` for a main transcript and
``<project_key>/<session_id>/<subpath>`` for a subagent's. Entries are stored as JSON, deduped
by their ``uuid`` (the SDK may retry a batch). Each main session keeps its summary (the SDK's
``fold_session_summary``) as a single value beside it, stamped with the write time of the
append that produced it. Appends to one session are serialized within a process; two processes
appending to the same session at once (which the CLI never does) may fold summaries out of order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from kitaru_core import toolkit

NAMESPACE = "claude_agent_sdk"


def _stream(key: Any) -> str:
    base = f"{key['project_key']}/{key['session_id']}"
    subpath = key.get("subpath")
    return f"{base}/{subpath}" if subpath else base


class KitaruSessionStore:
    """A ``claude_agent_sdk.SessionStore`` (with every optional method) on Kitaru's store.

    Stores with different ``namespace`` share nothing (the default is the one the adapter
    mirrors invocations to).
    """

    def __init__(self, namespace: str = NAMESPACE) -> None:
        self._log = toolkit.AdapterLog(namespace)
        self._summaries = toolkit.AdapterLog(f"{namespace}.summary")
        self._locks: dict[str, asyncio.Lock] = {}

    async def append(self, key: Any, entries: list[Any]) -> None:
        """Mirror a batch of transcript entries (entries already stored by uuid are skipped)."""
        if not entries:
            return
        stream = _stream(key)
        lock = self._locks.setdefault(stream, asyncio.Lock())
        async with lock:
            ids = [e.get("uuid") if isinstance(e.get("uuid"), str) else None for e in entries]
            at = self._log.append(stream, entries, ids=ids)
            if key.get("subpath"):
                return
            from claude_agent_sdk import fold_session_summary

            previous = self._summaries.read(stream)
            folded = dict(fold_session_summary(previous[0] if previous else None, key, entries))
            folded["mtime"] = int(at)
            self._summaries.append(stream, [folded], replace=True, at=at)

    async def load(self, key: Any) -> list[Any] | None:
        """A transcript in append order; None when it was never written."""
        return self._log.read(_stream(key))

    async def list_sessions(self, project_key: str) -> list[Any]:
        """Main sessions of a project with their last write time (epoch ms)."""
        prefix = f"{project_key}/"
        return [
            {"session_id": stream[len(prefix) :], "mtime": int(mtime)}
            for stream, mtime in self._log.streams(prefix)
            if "/" not in stream[len(prefix) :]
        ]

    async def list_session_summaries(self, project_key: str) -> list[Any]:
        """The folded summary of each main session of a project."""
        found = []
        for stream, _ in self._summaries.streams(f"{project_key}/"):
            value = self._summaries.read(stream)
            if value:
                found.append(value[0])
        return found

    async def delete(self, key: Any) -> None:
        """Delete a transcript; a main one takes its subagent transcripts and summary along."""
        stream = _stream(key)
        if key.get("subpath"):
            self._log.delete(stream)
            return
        self._log.delete(stream, prefix=f"{stream}/")
        self._summaries.delete(stream)

    async def list_subkeys(self, key: Any) -> list[str]:
        """Subpaths stored under a session."""
        prefix = f"{_stream(key)}/"
        return [stream[len(prefix) :] for stream, _ in self._log.streams(prefix)]


def with_session_store(options: Any) -> Any:
    """``options`` mirroring their transcript to Kitaru's store (inside a flow, unless they
    already name a store or use file checkpoints, which a store cannot hold)."""
    if (
        not toolkit.in_flow()
        or options.session_store is not None
        or options.enable_file_checkpointing
    ):
        return options
    return dataclasses.replace(
        options, session_store=KitaruSessionStore(), session_store_flush="eager"
    )
