"""cancellation_audit keeps no raw Telegram id: `chat_id` becomes `chat_key`, the chat's keyed
pseudonym (HMAC with PSEUDONYM_KEY, as `patient_key`). Existing rows get theirs when the key is
at hand (the service migrates with it; `alembic upgrade` by hand reads PSEUDONYM_KEY), else none.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

from bot.store.pseudonyms import chat_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cancellation_audit") as batch:
        batch.add_column(sa.Column("chat_key", sa.String(length=64), nullable=True))
    config = op.get_context().config
    given = config.attributes.get("pseudonym_key") if config is not None else None
    key = given or os.environ.get("PSEUDONYM_KEY")
    audit = sa.table(
        "cancellation_audit",
        sa.column("id", sa.Integer()),
        sa.column("chat_id", sa.BigInteger()),
        sa.column("chat_key", sa.String()),
    )
    if key:
        connection = op.get_bind()
        for chat_id in connection.execute(sa.select(audit.c.chat_id).distinct()).scalars():
            connection.execute(
                audit.update()
                .where(audit.c.chat_id == chat_id)
                .values(chat_key=chat_key(key, chat_id))
            )
    with op.batch_alter_table("cancellation_audit") as batch:
        batch.drop_index("ix_cancellation_audit_chat_id")
        batch.drop_column("chat_id")
        batch.create_index("ix_cancellation_audit_chat_key", ["chat_key"])


def downgrade() -> None:
    with op.batch_alter_table("cancellation_audit") as batch:
        batch.drop_index("ix_cancellation_audit_chat_key")
        batch.drop_column("chat_key")
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_cancellation_audit_chat_id", ["chat_id"])
