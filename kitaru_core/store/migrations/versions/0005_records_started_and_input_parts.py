"""Operations seen in flight (``kitaru_started``), and large inputs kept as blobs
(``kitaru_operations.input_parts``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kitaru_operations", sa.Column("input_parts", sa.JSON))
    op.create_table(
        "kitaru_started",
        sa.Column("exec_id", sa.String(40), primary_key=True),
        sa.Column("op_id", sa.String(300), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("run_no", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("kitaru_started")
    with op.batch_alter_table("kitaru_operations") as batch:
        batch.drop_column("input_parts")
