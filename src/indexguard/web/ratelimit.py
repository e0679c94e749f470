"""Login rate limiting, shared by all workers through the database.

Failures are counted per keyed hash of the client address and of the user name within a window;
past the limit, logins are refused with 429 (even with the right password) until the window moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.store import accounts


@dataclass(frozen=True)
class LoginLimiter:
    factory: sessionmaker[Session]
    cipher: Cipher
    max_failures: int
    window: timedelta

    def subjects(self, address: str, username: str) -> list[str]:
        return [
            self.cipher.keyed_hash("login-client", address),
            self.cipher.keyed_hash("login-user", username.lower()),
        ]

    def blocked(self, subjects: list[str]) -> bool:
        with self.factory() as s:
            return any(accounts.recent_failures(s, x, self.window) >= self.max_failures for x in subjects)

    def fail(self, subjects: list[str]) -> None:
        with self.factory() as s, s.begin():
            accounts.record_login_failure(s, subjects)
            accounts.prune_failures(s, self.window * 4)
