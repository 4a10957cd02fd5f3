"""Regenerate and edit-and-resend: the turns of a chat that a later answer replaced.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replaced_turns",
        sa.Column("trace_id", sa.String(12), primary_key=True),
        sa.Column("replaced_by", sa.String(12), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("replaced_turns")
