"""Logs an adapter keeps in the store (``kitaru_adapter_log``): the Claude Agent SDK adapter's
session transcripts, for one.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kitaru_adapter_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("stream", sa.String(500), nullable=False),
        sa.Column("item_id", sa.String(200)),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("namespace", "stream", "item_id", name="uq_kitaru_adapter_log_item"),
    )
    op.create_index(
        "ix_kitaru_adapter_log_stream", "kitaru_adapter_log", ["namespace", "stream", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_kitaru_adapter_log_stream", "kitaru_adapter_log")
    op.drop_table("kitaru_adapter_log")
