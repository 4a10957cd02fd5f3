"""Web conversations you can come back to: a title per thread, and chats deleted from the list.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("thread", sa.Text, primary_key=True),
        sa.Column("title", sa.Text),
        sa.Column("deleted", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("chats")
