"""Format errors with a stable machine-readable code, on top of indexguard.errors.

Each carries `code` (snake_case, documented in docs/formats.md) so callers and tests can branch on
the reason without parsing the message."""

from __future__ import annotations

from indexguard.errors import LimitExceeded, ParseError


class FormatError(ParseError):
    """A file of a known kind (torrent, bencode, magnet, nzb) that is malformed in a specific way."""

    def __init__(self, kind: str, code: str, message: str, offset: int | None = None) -> None:
        self.code = code
        super().__init__(kind, f"{code}: {message}", offset)


class FormatLimitExceeded(LimitExceeded):
    """A file beyond a safety limit (size, depth, tokens, pieces, time, ratio)."""

    def __init__(self, kind: str, code: str, message: str, offset: int | None = None) -> None:
        self.code = code
        super().__init__(kind, f"{code}: {message}", offset)
