"""chat_state.outbox: a step's replies, kept until they were sent (redelivery sends them again)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_state") as batch:
        batch.add_column(sa.Column("outbox", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_state") as batch:
        batch.drop_column("outbox")
