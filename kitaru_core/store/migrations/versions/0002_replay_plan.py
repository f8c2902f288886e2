"""Replays remember what they inherit: ``kitaru_executions.replay_plan``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kitaru_executions", sa.Column("replay_plan", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("kitaru_executions") as batch:
        batch.drop_column("replay_plan")
