"""SQLAlchemy Core tables of the SQL store. Migrations in ``migrations/`` create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

executions = sa.Table(
    "kitaru_executions",
    metadata,
    sa.Column("exec_id", sa.String(40), primary_key=True),
    sa.Column("flow_name", sa.String(200), nullable=False, index=True),
    sa.Column("flow_ref", sa.String(500), nullable=False),
    sa.Column("flow_file", sa.Text),
    sa.Column("code_dir", sa.Text),
    sa.Column("is_async", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("inputs_codec", sa.String(64)),
    sa.Column("inputs", sa.LargeBinary),
    sa.Column("result_codec", sa.String(64)),
    sa.Column("result", sa.LargeBinary),
    sa.Column("result_ref", sa.String(200)),
    sa.Column("error", sa.JSON),
    sa.Column("original_exec_id", sa.String(40), index=True),
    sa.Column("replay_from", sa.String(300)),
    sa.Column("replay_plan", sa.JSON),
    sa.Column("reused_ops", sa.JSON),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("updated_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.Column("owner", sa.String(200)),
    sa.Column("lease_expires_at", sa.Float),
    sa.Column("run_count", sa.Integer, nullable=False, default=0),
    sa.Column("metadata", sa.JSON),
    sa.Column("tokens_in", sa.BigInteger, nullable=False, default=0),
    sa.Column("tokens_out", sa.BigInteger, nullable=False, default=0),
    sa.Column("cost_spent", sa.Float, nullable=False, default=0.0),
    sa.Column("cost_saved", sa.Float, nullable=False, default=0.0),
    sa.Column("parent_exec_id", sa.String(40), index=True),
    sa.Column("parent_op_id", sa.String(300)),
    sa.Column("detached", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("awaiting", sa.JSON),
    sa.Column("deployment", sa.String(200)),
    sa.Column("deployment_version", sa.Integer),
    sa.Column("snapshot", sa.String(64)),
    sa.Index("ix_kitaru_executions_deployment", "deployment", "deployment_version"),
)

operations = sa.Table(
    "kitaru_operations",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("exec_id", sa.String(40), nullable=False),
    sa.Column("op_id", sa.String(300), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("fingerprint", sa.String(40), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input_text", sa.Text),
    sa.Column("output_codec", sa.String(64)),
    sa.Column("output", sa.LargeBinary),
    sa.Column("output_ref", sa.String(200)),
    sa.Column("error", sa.JSON),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=False),
    sa.Column("metadata", sa.JSON),
    sa.Column("run_no", sa.Integer, nullable=False, default=1),
    sa.Column("reused_from", sa.String(40)),
    sa.Column("model", sa.String(200)),
    sa.Column("tokens_in", sa.BigInteger, nullable=False, default=0),
    sa.Column("tokens_out", sa.BigInteger, nullable=False, default=0),
    sa.Column("cost", sa.Float, nullable=False, default=0.0),
    sa.Column("input_parts", sa.JSON),
    sa.UniqueConstraint("exec_id", "op_id", "attempt", name="uq_kitaru_operations_attempt"),
    sa.Index("ix_kitaru_operations_exec", "exec_id", "seq"),
)

started = sa.Table(
    "kitaru_started",
    metadata,
    sa.Column("exec_id", sa.String(40), primary_key=True),
    sa.Column("op_id", sa.String(300), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("run_no", sa.Integer, nullable=False, default=1),
)

logs = sa.Table(
    "kitaru_logs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("exec_id", sa.String(40), nullable=False),
    sa.Column("op_id", sa.String(300)),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("stream", sa.String(16), nullable=False),
    sa.Column("line", sa.Text, nullable=False),
    sa.Index("ix_kitaru_logs_exec", "exec_id", "seq"),
)

artifacts = sa.Table(
    "kitaru_artifacts",
    metadata,
    sa.Column("artifact_id", sa.String(40), primary_key=True),
    sa.Column("exec_id", sa.String(40), nullable=False),
    sa.Column("op_id", sa.String(300)),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("codec", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary),
    sa.Column("ref", sa.String(200)),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("exec_id", "name", "version", name="uq_kitaru_artifacts_version"),
)

waits = sa.Table(
    "kitaru_waits",
    metadata,
    sa.Column("exec_id", sa.String(40), primary_key=True),
    sa.Column("wait_id", sa.String(300), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("schema", sa.JSON),
    sa.Column("question", sa.Text),
    sa.Column("metadata", sa.JSON),
    sa.Column("value_codec", sa.String(64)),
    sa.Column("value", sa.LargeBinary),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("answered_at", sa.Float),
    sa.Column("rejection", sa.Text),
)

adapter_log = sa.Table(
    "kitaru_adapter_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("namespace", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(500), nullable=False),
    sa.Column("item_id", sa.String(200)),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("namespace", "stream", "item_id", name="uq_kitaru_adapter_log_item"),
    sa.Index("ix_kitaru_adapter_log_stream", "namespace", "stream", "seq"),
)

adapter_records = sa.Table(
    "kitaru_adapter_records",
    metadata,
    sa.Column("namespace", sa.String(100), primary_key=True),
    sa.Column("partition", sa.String(300), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("value", sa.LargeBinary),
    sa.Column("ref", sa.String(200)),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Records an adapter keeps in the store (toolkit.AdapterRecords), ordered by key."""

api_tokens = sa.Table(
    "kitaru_api_tokens",
    metadata,
    sa.Column("token_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)
"""The server's bearer tokens (``kitaru server token``), stored as SHA-256 digests."""
deployments = sa.Table(
    "kitaru_deployments",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("snapshot", sa.String(64), nullable=False),
    sa.Column("flow_ref", sa.String(500), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("packages", sa.JSON),
    sa.Column("deleted_at", sa.Float),
    sa.UniqueConstraint("name", "snapshot", name="uq_kitaru_deployments_snapshot"),
)
"""Published flows, one row per version (a deleted one keeps its row: numbers are not reused)."""

deployment_tags = sa.Table(
    "kitaru_deployment_tags",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("tag", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
"""Tags routing invocations of a deployment (``default``, ``stable``, ...) to a version."""

TABLE_NAMES = frozenset(metadata.tables)
