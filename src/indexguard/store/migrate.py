"""Apply the Alembic migrations programmatically: `indexguard db upgrade` and every server start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

if TYPE_CHECKING:
    from indexguard.crypto import Cipher

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head", cipher: Cipher | None = None) -> str | None:
    """Bring the schema to `revision`; returns the revision now current. Migrations that convert
    stored values with the service key (0008: keyed URLs) get it as `cipher`; without it they stop
    with an error when there is something to convert."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["cipher"] = cipher
        command.upgrade(cfg, revision)
    return current(engine)


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
