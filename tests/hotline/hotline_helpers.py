"""Shared helpers for the hotline tests (a uniquely named module, not a conftest import)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.store import db, migrate


def fresh_store(tmp: Path) -> tuple[sessionmaker[Session], Cipher]:
    engine = db.make_engine(f"sqlite:///{tmp / 'hotline.db'}")
    migrate.upgrade(engine)
    key = secrets.token_bytes(32)
    (tmp / "hotline.db.key").write_text(base64.b64encode(key).decode("ascii"))  # where the CLI finds it
    return db.session_factory(engine), Cipher(key)


def schema_path(fixtures_dir: Path) -> Path:
    return fixtures_dir / "schemas" / "ncmec" / "cyber_tipline.xsd"
