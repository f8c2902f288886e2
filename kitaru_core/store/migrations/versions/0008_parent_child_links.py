"""Child executions started from a flow: links to the parent, and what a parent waits on.

``parent_exec_id`` and ``parent_op_id`` name the parent execution and the operation of it that
started the child; ``detached`` children are left alone when the parent is cancelled;
``awaiting`` lists the children a ``waiting`` parent is suspended on.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite adds them without copying the table.
    op.add_column("kitaru_executions", sa.Column("parent_exec_id", sa.String(40)))
    op.add_column("kitaru_executions", sa.Column("parent_op_id", sa.String(300)))
    op.add_column(
        "kitaru_executions",
        sa.Column("detached", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("kitaru_executions", sa.Column("awaiting", sa.JSON))
    op.create_index("ix_kitaru_executions_parent_exec_id", "kitaru_executions", ["parent_exec_id"])


def downgrade() -> None:
    op.drop_index("ix_kitaru_executions_parent_exec_id", table_name="kitaru_executions")
    with op.batch_alter_table("kitaru_executions") as batch:
        batch.drop_column("awaiting")
        batch.drop_column("detached")
        batch.drop_column("parent_op_id")
        batch.drop_column("parent_exec_id")
