"""The durable queue of listing work done behind the answer (cases, their audit rows, webhooks).

Revision ID: 0007_record_queue
Revises: 0006_password_change
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_record_queue"
down_revision: str | None = "0006_password_change"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("record_queue")
