"""The service's first start, one path for `indexguard serve` and the app's lifespan: the admin account,
the placeholder demo list live and, with it, the placeholder demo cases that docs/hotline.md promises
(so `indexguard hotline ncmec-xml --case 1` works at once)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.demo.seed import seed_demo_cases
from indexguard.settings import Settings, retention
from indexguard.store.bootstrap import Bootstrapped, first_start


def start_service(factory: sessionmaker[Session], cipher: Cipher, settings: Settings) -> Bootstrapped:
    """Bootstrap an empty store; the demo cases come with the demo list, on the same first start only."""
    boot = first_start(factory, cipher)
    if boot.demo_version is not None:
        seed_demo_cases(factory, cipher, retention(settings), settings.preserve_images)
    return boot
