"""Exchanges (issue 19): fetch state and upstream records of hash-sharing sources.

Revision ID: 0004_exchanges
Revises: 0003_hotline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_exchanges"
down_revision: str | None = "0003_hotline"
branch_labels = None
depends_on = None


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "exchange_state",
        sa.Column("source", sa.String(length=64), primary_key=True),
        sa.Column("api", sa.String(length=32), nullable=False),
        sa.Column("checkpoint", sa.JSON(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _ts("lease_until"),
        _ts("last_attempt"),
        _ts("last_success"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("records", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("fetched_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("deleted_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("list_number", sa.Integer(), nullable=True),
        sa.Column("list_version", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "exchange_records",
        sa.Column("source", sa.String(length=64), primary_key=True),
        sa.Column("key", sa.String(length=512), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("exchange_records")
    op.drop_table("exchange_state")
