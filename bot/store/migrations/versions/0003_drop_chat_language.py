"""chat_state.language goes: the language lives in the dialog's context, and nothing read it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_state") as batch:
        batch.drop_column("language")


def downgrade() -> None:
    with op.batch_alter_table("chat_state") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )
