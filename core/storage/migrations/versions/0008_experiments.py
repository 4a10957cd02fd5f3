"""Live experiments: a prompt's traffic split between versions, and each variant's answers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("stopped", sa.Float),
        sa.Column("variants", sa.Text, nullable=False),
    )
    op.create_table(
        "experiment_answers",
        sa.Column("trace_id", sa.String(12), primary_key=True),
        sa.Column("experiment", sa.String(16), nullable=False),
        sa.Column("variant", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
    )
    op.create_index("experiment_answers_by_experiment", "experiment_answers", ["experiment"])


def downgrade() -> None:
    op.drop_index("experiment_answers_by_experiment", "experiment_answers")
    op.drop_table("experiment_answers")
    op.drop_table("experiments")
