"""``KitaruSaver``: LangGraph's checkpoints, pending writes and threads in Kitaru's store.

A ``BaseCheckpointSaver`` on the toolkit's :class:`AdapterRecords` (namespace
``langgraph.checkpoints``, one partition per thread), so one database holds a graph's thread
memory and Kitaru's executions, and large checkpoints go to the artifact store. Keys sort by
LangGraph's time-ordered checkpoint ids:

- ``c<US><checkpoint_ns><US><checkpoint_id>``: a checkpoint with its metadata and parent id;
- ``w<US><checkpoint_ns><US><checkpoint_id><US><task_id><US><index>``: one pending write.

Values are LangGraph's own serialization (``self.serde``). The async methods run the sync
ones in a worker thread.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from kitaru_core.toolkit import AdapterRecords

NAMESPACE = "langgraph.checkpoints"
"""Where the records live (persisted data: never rename)."""
SEP = "\x1f"
_INDEX_OFFSET = 100  # WRITES_IDX_MAP's negative indexes sort before the regular ones


def _checkpoint_key(ns: str, checkpoint_id: str) -> str:
    return f"c{SEP}{ns}{SEP}{checkpoint_id}"


def _writes_prefix(ns: str, checkpoint_id: str) -> str:
    return f"w{SEP}{ns}{SEP}{checkpoint_id}{SEP}"


def _config(thread: str, ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}
    }


class KitaruSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer that keeps everything in the current Kitaru stack's store.

    ``builder.compile(checkpointer=KitaruSaver())`` gives a graph LangGraph's own thread
    memory, interrupts and time travel, stored beside Kitaru's executions (SQLite or
    PostgreSQL, with large values in the artifact store).
    """

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self.records = AdapterRecords(NAMESPACE)

    # --- encoding ------------------------------------------------------------------------------

    def _dump(self, value: Any) -> bytes:
        kind, data = self.serde.dumps_typed(value)
        return kind.encode() + b"\n" + data

    def _load(self, raw: bytes) -> Any:
        kind, _, data = raw.partition(b"\n")
        return self.serde.loads_typed((kind.decode(), data))

    def _tuple(self, thread: str, key: str, raw: bytes) -> CheckpointTuple:
        _, ns, checkpoint_id = key.split(SEP)
        saved = self._load(raw)
        writes = self.records.scan(thread, prefix=_writes_prefix(ns, checkpoint_id))
        loaded = [self._load(value) for _, _, value in writes]
        loaded.sort(key=lambda w: writes_sort_key(w[3], w[0], w[4]))
        parent = saved["parent"]
        return CheckpointTuple(
            config=_config(thread, ns, checkpoint_id),
            checkpoint=saved["checkpoint"],
            metadata=saved["metadata"],
            parent_config=_config(thread, ns, parent) if parent else None,
            pending_writes=[(task, channel, value) for task, channel, value, _, _ in loaded],
        )

    # --- the sync interface --------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names, or the thread's latest in its namespace."""
        configurable = config["configurable"]
        thread = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "") or ""
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id:
            key = _checkpoint_key(ns, checkpoint_id)
            found = [r for r in self.records.scan(thread, prefix=key) if r[1] == key]
        else:
            found = self.records.scan(
                thread, prefix=_checkpoint_key(ns, ""), newest_first=True, limit=1
            )
        if not found:
            return None
        _, key, raw = found[0]
        return self._tuple(thread, key, raw)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first: of ``config``'s thread (and namespace, and checkpoint id)
        or of every thread, whose metadata has ``filter``'s items, before ``before``."""
        configurable = (config or {}).get("configurable") or {}
        thread = str(configurable["thread_id"]) if "thread_id" in configurable else None
        ns = configurable.get("checkpoint_ns")
        wanted_id = get_checkpoint_id(config) if config else None
        before_id = get_checkpoint_id(before) if before else None
        prefix = f"c{SEP}" if ns is None else _checkpoint_key(ns, "")
        left = limit
        for partition, key, raw in self.records.scan(thread, prefix=prefix, newest_first=True):
            checkpoint_id = key.rsplit(SEP, 1)[1]
            if wanted_id and checkpoint_id != wanted_id:
                continue
            if before_id and checkpoint_id >= before_id:
                continue
            if filter:
                metadata = self._load(raw)["metadata"]
                if not all(metadata.get(k) == v for k, v in filter.items()):
                    continue
            if left is not None:
                if left <= 0:
                    return
                left -= 1
            yield self._tuple(partition, key, raw)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store ``checkpoint`` as the child of the one ``config`` names."""
        configurable = config["configurable"]
        thread = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "") or ""
        saved = {
            "checkpoint": checkpoint,
            "metadata": get_checkpoint_metadata(config, metadata),
            "parent": configurable.get("checkpoint_id"),
        }
        self.records.put(thread, {_checkpoint_key(ns, checkpoint["id"]): self._dump(saved)})
        return _config(thread, ns, checkpoint["id"])

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes; a regular write already stored is kept."""
        configurable = config["configurable"]
        thread = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "") or ""
        prefix = f"{_writes_prefix(ns, configurable['checkpoint_id'])}{task_id}{SEP}"
        existing = {key for _, key, _ in self.records.scan(thread, prefix=prefix)}
        items = {}
        for position, (channel, value) in enumerate(writes):
            index = WRITES_IDX_MAP.get(channel, position)
            key = f"{prefix}{index + _INDEX_OFFSET:09d}"
            if index >= 0 and key in existing:
                continue
            items[key] = self._dump((task_id, channel, value, task_path, index))
        self.records.put(thread, items)

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread's checkpoints and writes."""
        self.records.delete(str(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a thread's checkpoints and writes to another thread id."""
        copied = self.records.scan(str(source_thread_id))
        self.records.put(str(target_thread_id), {key: value for _, key, value in copied})

    def get_next_version(self, current: str | None, channel: None) -> str:
        """A version that sorts after ``current`` (LangGraph's string scheme)."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"

    # --- the async interface: the same, in a worker thread -------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """:meth:`get_tuple` off the event loop."""
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """:meth:`list` off the event loop."""
        found = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """:meth:`put` off the event loop."""
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """:meth:`put_writes` off the event loop."""
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """:meth:`delete_thread` off the event loop."""
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """:meth:`copy_thread` off the event loop."""
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)
