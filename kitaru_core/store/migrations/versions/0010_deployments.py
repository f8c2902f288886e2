"""Versioned deployments: ``kitaru_deployments``, ``kitaru_deployment_tags``, and the
deployment, version and code snapshot an execution was started from.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kitaru_deployments",
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
    op.create_table(
        "kitaru_deployment_tags",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("tag", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.add_column("kitaru_executions", sa.Column("deployment", sa.String(200)))
    op.add_column("kitaru_executions", sa.Column("deployment_version", sa.Integer))
    op.add_column("kitaru_executions", sa.Column("snapshot", sa.String(64)))
    op.create_index(
        "ix_kitaru_executions_deployment",
        "kitaru_executions",
        ["deployment", "deployment_version"],
    )


def downgrade() -> None:
    op.drop_index("ix_kitaru_executions_deployment", table_name="kitaru_executions")
    with op.batch_alter_table("kitaru_executions") as batch:
        batch.drop_column("snapshot")
        batch.drop_column("deployment_version")
        batch.drop_column("deployment")
    op.drop_table("kitaru_deployment_tags")
    op.drop_table("kitaru_deployments")
