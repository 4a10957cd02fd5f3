"""Collection manifests and uploaded documents in the shared database: any worker ingests an
upload that any replica received, and every writer of a collection sees what it holds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manifest_files",
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime_ns", sa.BigInteger, nullable=False),
        sa.Column("loader", sa.Text, nullable=False),
        sa.Column("chunk_ids", sa.Text, nullable=False),
        sa.Column("ingested_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("collection", "source"),
    )
    op.create_table(
        "manifest_intents",
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("add_ids", sa.Text, nullable=False),
        sa.Column("drop_ids", sa.Text, nullable=False),
        sa.Column("committed", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("collection", "source"),
    )
    op.create_table(
        "uploads",
        sa.Column("collection", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("collection", "name"),
    )


def downgrade() -> None:
    op.drop_table("uploads")
    op.drop_table("manifest_intents")
    op.drop_table("manifest_files")
