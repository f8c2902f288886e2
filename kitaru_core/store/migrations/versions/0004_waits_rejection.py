"""A wait whose answer the flow's own type refused says why: ``kitaru_waits.rejection``.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kitaru_waits", sa.Column("rejection", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("kitaru_waits") as batch:
        batch.drop_column("rejection")
