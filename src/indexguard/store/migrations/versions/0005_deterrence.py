"""Deterrence counting: per-session state (deleted after hours) and daily aggregates.

Revision ID: 0005_deterrence
Revises: 0004_exchanges
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_deterrence"
down_revision: str | None = "0004_exchanges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deterrence_sessions",
        sa.Column("session_hash", sa.String(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("blocks", sa.Integer(), nullable=False),
        sa.Column("last_block_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clicked", sa.Boolean(), nullable=False),
        sa.Column("searched_again", sa.Boolean(), nullable=False),
        sa.Column("blocked_again", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index(op.f("ix_deterrence_sessions_expires_at"), "deterrence_sessions", ["expires_at"])
    op.create_table(
        "deterrence_counts",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("variant", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "variant", "locale", "metric", "category"),
    )


def downgrade() -> None:
    op.drop_table("deterrence_counts")
    op.drop_index(op.f("ix_deterrence_sessions_expires_at"), table_name="deterrence_sessions")
    op.drop_table("deterrence_sessions")
