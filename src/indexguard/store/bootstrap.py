"""First start: an admin account with a one-time password, and the demo placeholder list live."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.demo.terms import DEMO_LIST_NAME as DEMO_LIST
from indexguard.demo.terms import demo_term_text
from indexguard.store import accounts, audit, lists_repo

ADMIN = "admin"


@dataclass(frozen=True)
class Bootstrapped:
    admin_password: str | None  # set only when the admin account was created just now
    demo_version: str | None


def first_start(factory: sessionmaker[Session], cipher: Cipher) -> Bootstrapped:
    password = None
    version = None
    with factory() as s, s.begin():
        if accounts.user_count(s) == 0:
            password = accounts.new_password()
            accounts.create_user(s, ADMIN, password, "admin", one_time=True)
        if not lists_repo.summaries(s):
            info, _ = lists_repo.import_version(s, cipher, DEMO_LIST, "term", "txt", demo_term_text(), "system")
            lists_repo.activate(s, DEMO_LIST, str(info.number))
            version = info.version
        if password is not None:
            audit.append_in(s, "system", "user.create", ADMIN, {"role": "admin", "first_start": True})
        if version is not None:
            audit.append_in(s, "system", "list.activate", DEMO_LIST, {"version": version, "first_start": True})
    return Bootstrapped(password, version)
