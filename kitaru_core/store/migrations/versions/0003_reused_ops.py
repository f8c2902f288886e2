"""Executions remember which operations their latest run reused: ``reused_ops``.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kitaru_executions", sa.Column("reused_ops", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("kitaru_executions") as batch:
        batch.drop_column("reused_ops")
