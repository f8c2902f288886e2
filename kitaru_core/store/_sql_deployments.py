"""The SQL store's deployments: versions, tags, and the executions started from them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from kitaru_core.store import _schema as t
from kitaru_core.store._records import FINISHED_STATUSES, DeploymentRecord, ExecutionRecord

_SAVE_TRIES = 5
"""Two processes deploying one name at once may pick the same next version; the loser
retries (the unique keys make it fail instead of writing a second row)."""


class SqlDeployments:
    """Mixed into ``SqlStore``: the deployment methods of the Store interface."""

    _engine: sa.Engine

    def save_deployment(
        self, record: DeploymentRecord, *, tags: Sequence[str] = ()
    ) -> tuple[DeploymentRecord, bool]:
        for attempt in range(_SAVE_TRIES):
            try:
                with self._engine.begin() as conn:
                    return _save(conn, record, tags)
            except sa.exc.IntegrityError:
                if attempt == _SAVE_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def list_deployments(self, name: str | None = None) -> list[DeploymentRecord]:
        d = t.deployments.c
        query = sa.select(t.deployments).where(d.deleted_at.is_(None))
        if name is not None:
            query = query.where(d.name == name)
        query = query.order_by(d.name, d.version.desc())
        tg = t.deployment_tags.c
        tag_query = sa.select(tg.name, tg.tag, tg.version).order_by(tg.tag)
        if name is not None:
            tag_query = tag_query.where(tg.name == name)
        with self._engine.connect() as conn:
            records = [_to_deployment(row) for row in conn.execute(query)]
            tags = list(conn.execute(tag_query))
        by_key = {(r.name, r.version): r for r in records}
        for tag_name, tag, version in tags:
            found = by_key.get((tag_name, version))
            if found is not None:
                found.tags.append(tag)
        return records

    def deployment_tags(self, name: str) -> dict[str, int]:
        tg = t.deployment_tags.c
        query = sa.select(tg.tag, tg.version).where(tg.name == name).order_by(tg.tag)
        with self._engine.connect() as conn:
            return {tag: version for tag, version in conn.execute(query)}

    def set_deployment_tag(self, name: str, tag: str, version: int, *, at: float) -> bool:
        with self._engine.begin() as conn:
            if _live(conn, name, version) is None:
                return False
            _point(conn, name, tag, version, at)
            return True

    def delete_deployment(
        self, name: str, version: int, *, at: float
    ) -> tuple[list[str], list[str]]:
        e = t.executions.c
        tg = t.deployment_tags.c
        with self._engine.begin() as conn:
            unfinished = [
                exec_id
                for (exec_id,) in conn.execute(
                    sa.select(e.exec_id)
                    .where(
                        e.deployment == name,
                        e.deployment_version == version,
                        e.status.not_in(sorted(FINISHED_STATUSES)),
                    )
                    .order_by(e.exec_id)
                )
            ]
            if unfinished:
                return [], unfinished
            removed = [
                tag
                for (tag,) in conn.execute(
                    sa.select(tg.tag).where(tg.name == name, tg.version == version)
                )
            ]
            conn.execute(t.deployment_tags.delete().where(tg.name == name, tg.version == version))
            d = t.deployments.c
            conn.execute(
                t.deployments.update()
                .where(d.name == name, d.version == version)
                .values(deleted_at=at)
            )
            return sorted(removed), []

    def list_deployment_executions(
        self,
        name: str | None,
        version: int | None,
        *,
        statuses: Collection[str] | None = None,
        limit: int = 50,
    ) -> list[ExecutionRecord]:
        e = t.executions.c
        query = sa.select(t.executions).where(e.deployment.is_not(None))
        if name is not None:
            query = query.where(e.deployment == name)
        if version is not None:
            query = query.where(e.deployment_version == version)
        if statuses is not None:
            query = query.where(e.status.in_(sorted(statuses)))
        query = query.order_by(e.exec_id.desc()).limit(limit)
        with self._engine.connect() as conn:
            rows = list(conn.execute(query))
        records = []
        for row in rows:
            values = dict(row._mapping)
            values["metadata"] = values["metadata"] or {}
            records.append(ExecutionRecord(**values))
        return records


def _save(
    conn: sa.Connection, record: DeploymentRecord, tags: Sequence[str]
) -> tuple[DeploymentRecord, bool]:
    d = t.deployments.c
    row = conn.execute(
        sa.select(t.deployments).where(d.name == record.name, d.snapshot == record.snapshot)
    ).first()
    created = row is None
    if row is not None:
        stored = _to_deployment(row)
        if stored.deleted_at is not None:
            conn.execute(
                t.deployments.update()
                .where(d.name == stored.name, d.version == stored.version)
                .values(deleted_at=None)
            )
            stored.deleted_at = None
    else:
        latest = conn.execute(
            sa.select(sa.func.max(d.version)).where(d.name == record.name)
        ).scalar()
        stored = DeploymentRecord(
            name=record.name,
            version=int(latest or 0) + 1,
            snapshot=record.snapshot,
            flow_ref=record.flow_ref,
            created_at=record.created_at,
            source=record.source,
            packages=dict(record.packages),
        )
        conn.execute(t.deployments.insert(), _deployment_row(stored))
    for tag in tags:
        _point(conn, stored.name, tag, stored.version, record.created_at)
    return stored, created


def _live(conn: sa.Connection, name: str, version: int) -> DeploymentRecord | None:
    d = t.deployments.c
    row = conn.execute(
        sa.select(t.deployments).where(d.name == name, d.version == version, d.deleted_at.is_(None))
    ).first()
    return None if row is None else _to_deployment(row)


def _point(conn: sa.Connection, name: str, tag: str, version: int, at: float) -> None:
    tg = t.deployment_tags.c
    conn.execute(t.deployment_tags.delete().where(tg.name == name, tg.tag == tag))
    conn.execute(
        t.deployment_tags.insert(),
        {"name": name, "tag": tag, "version": version, "updated_at": at},
    )


def _deployment_row(record: DeploymentRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "version": record.version,
        "snapshot": record.snapshot,
        "flow_ref": record.flow_ref,
        "created_at": record.created_at,
        "source": record.source,
        "packages": record.packages or None,
        "deleted_at": record.deleted_at,
    }


def _to_deployment(row: sa.Row[Any]) -> DeploymentRecord:
    values = dict(row._mapping)
    values["packages"] = values["packages"] or {}
    return DeploymentRecord(**values)
