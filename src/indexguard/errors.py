"""Errors that carry a clear, specific message for the operator. Never raised with list term text."""

from __future__ import annotations


class IndexguardError(Exception):
    """Base class: anything indexguard refuses on purpose."""


class ListFormatError(IndexguardError):
    """A list file with a broken line: names the file, the line and the reason; nothing is loaded."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class ParseError(IndexguardError):
    """Input (a torrent, an NZB, an image, a magnet) that cannot be parsed; held for review."""

    def __init__(self, kind: str, reason: str, offset: int | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.offset = offset
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{kind}: {reason}{at}")


class LimitExceeded(ParseError):
    """Input beyond a safety limit (size, depth, tokens, pixels, time)."""
