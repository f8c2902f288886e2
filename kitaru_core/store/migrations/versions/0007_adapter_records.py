"""Records adapters keep in the store (``kitaru_adapter_records``): the LangGraph adapter's
checkpoints, pending writes and threads, through ``toolkit.AdapterRecords``.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kitaru_adapter_records",
        sa.Column("namespace", sa.String(100), primary_key=True),
        sa.Column("partition", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("value", sa.LargeBinary),
        sa.Column("ref", sa.String(200)),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kitaru_adapter_records")
