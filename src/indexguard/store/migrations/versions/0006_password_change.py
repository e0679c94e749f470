"""Accounts (issue 14): a password that must be changed at the next sign-in (one-time passwords).

Revision ID: 0006_password_change
Revises: 0005_deterrence
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_password_change"
down_revision: str | None = "0005_deterrence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
