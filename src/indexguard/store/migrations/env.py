"""Alembic environment: the connection is handed in by indexguard.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from indexguard.store.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through indexguard.store.migrate (it supplies the connection)")
_run(connection)
