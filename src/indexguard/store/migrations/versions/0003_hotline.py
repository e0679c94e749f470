"""Hotline: evidence packages, chain of custody, legal holds, hotline report outbox.

Revision ID: 0003_hotline
Revises: 0002_cases
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_hotline"
down_revision: str | None = "0002_cases"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "evidence_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("jurisdiction", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("images_preserved", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("purged_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_evidence_packages_case_ref"), "evidence_packages", ["case_ref"])
    op.create_index(op.f("ix_evidence_packages_item_id"), "evidence_packages", ["item_id"])
    op.create_index(op.f("ix_evidence_packages_expires_at"), "evidence_packages", ["expires_at"])
    op.create_table(
        "evidence_custody",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["package_id"], ["evidence_packages.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("package_id", "seq"),
    )
    op.create_index(op.f("ix_evidence_custody_package_id"), "evidence_custody", ["package_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("placed_by", sa.String(length=128), nullable=False),
        _ts("placed_at"),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        _ts("released_at", nullable=True),
        sa.ForeignKeyConstraint(["package_id"], ["evidence_packages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_legal_holds_package_id"), "legal_holds", ["package_id"])
    op.create_table(
        "hotline_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_ref", sa.String(length=64), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=True),
        sa.Column("hotline", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("remote_id", sa.BigInteger(), nullable=True),
        _ts("opened_at", nullable=True),
        _ts("modified_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("next_attempt_at"),
        sa.Column("last_error", sa.String(length=512), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _ts("created_at"),
        _ts("finished_at", nullable=True),
        sa.ForeignKeyConstraint(["package_id"], ["evidence_packages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_hotline_reports_case_ref"), "hotline_reports", ["case_ref"])
    op.create_index(op.f("ix_hotline_reports_state"), "hotline_reports", ["state"])
    op.create_index(op.f("ix_hotline_reports_created_at"), "hotline_reports", ["created_at"])
    op.create_index(op.f("ix_hotline_reports_finished_at"), "hotline_reports", ["finished_at"])


def downgrade() -> None:
    op.drop_table("hotline_reports")
    op.drop_table("legal_holds")
    op.drop_table("evidence_custody")
    op.drop_table("evidence_packages")
