"""Public abuse reports: categories, hotline links, reference numbers, input checks."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from indexguard.errors import IndexguardError

CATEGORIES: dict[str, str] = {
    "csam": "Child sexual abuse material",
    "non_photographic": "Non-photographic depictions (drawings, CGI, AI-generated)",
    "advert": "An advert or link to such material",
    "grooming_other": "Grooming or other",
}
# The case category a report's category maps to (list categories use the same names).
MAX_ITEM = 256
MAX_URL = 1_500  # sealed at rest, the stored form must fit its 2,048-character column
MAX_COMMENT = 4_000
MAX_CONTACT = 256
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


class ReportError(IndexguardError):
    """A report that cannot be accepted; the message says which field and why."""


@dataclass(frozen=True)
class ReportIn:
    item_id: str
    category: str
    url: str | None = None
    comment: str | None = None
    contact: str | None = None

    def checked(self) -> ReportIn:
        item = self.item_id.strip()
        url = (self.url or "").strip() or None
        if not item and not url:
            raise ReportError("say which listing: its id (item) or its address (url)")
        if len(item) > MAX_ITEM or not item.isprintable():
            raise ReportError(f"item must be at most {MAX_ITEM} printable characters")
        if self.category not in CATEGORIES:
            raise ReportError(f"category must be one of {', '.join(CATEGORIES)}")
        if url is not None and (len(url) > MAX_URL or not url.isprintable()):
            raise ReportError(f"url must be at most {MAX_URL} printable characters")
        for name, value, limit in (("comment", self.comment, MAX_COMMENT), ("contact", self.contact, MAX_CONTACT)):
            if value is not None and (len(value) > limit or len(unicodedata.normalize("NFKC", value)) > limit):
                raise ReportError(f"{name} must be at most {limit} characters")
        for name, value in (("item", item), ("url", url), ("comment", self.comment), ("contact", self.contact)):
            if value is not None and ("\x00" in value or not _encodable(value)):
                raise ReportError(f"{name} must be valid text without NUL characters")
        return ReportIn(item or f"url:{url}"[:MAX_ITEM], self.category, url, _blank(self.comment), _blank(self.contact))


def _encodable(v: str) -> bool:
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _blank(v: str | None) -> str | None:
    return v.strip() or None if v is not None else None


def new_reference() -> str:
    """A reference the reporter can quote: R-XXXX-XXXX (40 bits of randomness)."""
    body = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"
