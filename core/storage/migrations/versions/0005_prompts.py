"""Prompt versions and labels: saved or moved on one replica, served by all.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_versions",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", "version"),
    )
    op.create_table(
        "prompt_meta",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("meta", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("prompt_meta")
    op.drop_table("prompt_versions")
