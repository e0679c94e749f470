"""Persistence (SQLAlchemy 2): users, keys, list versions, decisions, the deny set, the audit log.

Framework-free: nothing here knows about HTTP. SQLite and PostgreSQL share one schema, managed by
the Alembic migrations in `indexguard.store.migrations`.
"""
