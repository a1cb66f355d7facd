"""cancellation_audit.sandbox: rows of sandbox chats, kept apart from patients' in reports."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cancellation_audit") as batch:
        batch.add_column(
            sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cancellation_audit") as batch:
        batch.drop_column("sandbox")
