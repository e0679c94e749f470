"""Encryption at rest for confidential list content (term text, hash lists).

AES-256-GCM with a random 96-bit nonce per value. The key comes from, in order:
INDEXGUARD_KEY (base64 of 32 bytes), the key file named by INDEXGUARD_KEY_FILE or the settings,
or - for an SQLite database only - a key file beside the database, created on first start.
A PostgreSQL deployment never gets an implicit key: the operator must supply one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from indexguard.errors import IndexguardError

KEY_ENV = "INDEXGUARD_KEY"
KEY_FILE_ENV = "INDEXGUARD_KEY_FILE"
KEY_BYTES = 32
IDENTITY_URL = "identity-url"  # purpose of the subkey URL digests are made with (service and CLI deny sets)
_NONCE_BYTES = 12
_FORMAT = b"ig1"  # leading tag so a future key rotation can tell ciphertext generations apart


class KeyUnavailable(IndexguardError):
    """The encryption key is missing, malformed or does not open the stored data."""


@dataclass(frozen=True)
class KeySource:
    key: bytes
    origin: str  # "env", "file:<path>" or "created:<path>"
    created: bool = False


def decode_key(text: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyUnavailable(f"{origin}: the key must be base64 of {KEY_BYTES} bytes ({e})") from None
    if len(key) != KEY_BYTES:
        raise KeyUnavailable(f"{origin}: the key must be {KEY_BYTES} bytes, found {len(key)}")
    return key


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def resolve_key(key_file: str | None, sqlite_path: Path | None, *, create: bool) -> KeySource:
    """Find the key; with `create` and an SQLite database, write a new key file (mode 0600)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return KeySource(decode_key(env, KEY_ENV), "env")
    named = os.environ.get(KEY_FILE_ENV) or key_file
    if named:
        path = Path(named)
        if not path.is_file():
            raise KeyUnavailable(f"key file {path} not found (set {KEY_ENV} or create the file)")
        return KeySource(decode_key(path.read_text("ascii"), str(path)), f"file:{path}")
    if sqlite_path is None:
        raise KeyUnavailable(
            f"no encryption key: set {KEY_ENV} (base64 of {KEY_BYTES} random bytes) or {KEY_FILE_ENV}; "
            "a key is created automatically only for an SQLite database"
        )
    path = sqlite_path.with_name(sqlite_path.name + ".key")
    if not create and not path.is_file():
        raise KeyUnavailable(f"no encryption key: {path} does not exist and {KEY_ENV} is not set")
    return load_key_file(path, create=create)


def load_key_file(path: Path, *, create: bool) -> KeySource:
    """The key in a key file (base64 of 32 bytes, one line). With `create`, a missing file is made:
    a new random key, mode 0600, created exclusively (O_EXCL): a key file already there is never
    overwritten (a process that loses the race to create it reads the winner's)."""
    if not path.is_file():
        if not create:
            raise KeyUnavailable(f"key file {path} not found")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            text = new_key_text()
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            return KeySource(decode_key(text, str(path)), f"created:{path}", created=True)
    return KeySource(decode_key(path.read_text("ascii"), str(path)), f"file:{path}")


class Cipher:
    """Seals and opens values with one key; `subkey` derives independent keys for keyed hashes."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise KeyUnavailable(f"the key must be {KEY_BYTES} bytes, found {len(key)}")
        self._key = key
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        if not sealed.startswith(_FORMAT) or len(sealed) < len(_FORMAT) + _NONCE_BYTES + 16:
            raise KeyUnavailable("stored value is not in the expected encrypted format")
        nonce = sealed[len(_FORMAT) : len(_FORMAT) + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[len(_FORMAT) + _NONCE_BYTES :], context)
        except InvalidTag:
            msg = "stored value does not open with this key (wrong key or altered data)"
            raise KeyUnavailable(msg) from None

    def subkey(self, purpose: str) -> bytes:
        return hmac.new(self._key, b"indexguard-subkey:" + purpose.encode(), hashlib.sha256).digest()

    def keyed_hash(self, purpose: str, value: str | bytes) -> str:
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
        return hmac.new(self.subkey(purpose), data, hashlib.sha256).hexdigest()
