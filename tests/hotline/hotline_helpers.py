"""Shared helpers for the hotline tests (a uniquely named module, not a conftest import)."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.store import db, migrate


def fresh_store(tmp: Path) -> tuple[sessionmaker[Session], Cipher]:
    engine = db.make_engine(f"sqlite:///{tmp / 'hotline.db'}")
    migrate.upgrade(engine)
    return db.session_factory(engine), Cipher(secrets.token_bytes(32))


def schema_path(fixtures_dir: Path) -> Path:
    return fixtures_dir / "schemas" / "ncmec" / "cyber_tipline.xsd"
