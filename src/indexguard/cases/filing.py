"""Filing one abuse report: the report, its case and its audit rows in one transaction.

A report is acknowledged only once all of it is committed, so an acknowledged report always has
its audit row; nothing retries after a commit. The per-address limit is atomic: the count and the
insert run under a lock held for the client's transaction (an advisory lock on PostgreSQL, the
write lock on SQLite), so concurrent reports from one address cannot slip past it.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases import private_urls
from indexguard.cases import service as cases
from indexguard.cases.meta import CaseMeta, MetaField
from indexguard.cases.reports import MAX_ITEM, ReportIn, new_reference
from indexguard.crypto import Cipher
from indexguard.store import audit
from indexguard.store.models import AbuseReport, Case, utcnow

PUBLIC = "public"  # the reporter name of anyone without an API key
URL_ITEM_PREFIX = "url:"
SEALED_URL_PREFIX = private_urls.SEALED_PREFIX
Mask = Callable[[str | None, str], str | None]  # (text, field name) -> text with list matches masked


class RateLimited(cases.CaseError):
    """Too many reports from one address in the last hour."""


class ItemReportCap(cases.CaseError):
    """The item already has as many open reports as one item may gather."""


@dataclass(frozen=True)
class ReportLimits:
    per_hour: int  # per client (keyed address hash)
    per_item: int  # open reports from the public (no API key) per item


@dataclass(frozen=True)
class Reporter:
    name: str  # "public" or the API key's name
    trusted: bool
    client_hash: str


def rate_subject(address: str) -> str:
    """What the per-address limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's
    network hands out a whole /64, so counting single v6 addresses would not limit anyone)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def report_item_id(cipher: Cipher, r: ReportIn) -> str:
    """A URL-only report's item id is a keyed digest of the URL: the address is never an id."""
    if r.url and r.item_id == f"{URL_ITEM_PREFIX}{r.url}"[:MAX_ITEM]:
        return URL_ITEM_PREFIX + cipher.keyed_hash("report-url", r.url)[:40]
    return r.item_id


def seal_url(cipher: Cipher, url: str) -> str:
    """The reported URL as stored: sealed like other item data (only a moderator's view opens it)."""
    return private_urls.seal(cipher, url, private_urls.REPORT_URL_CONTEXT)


def open_url(cipher: Cipher, stored: str | None) -> str | None:
    return private_urls.unseal(cipher, stored, private_urls.REPORT_URL_CONTEXT)


url_display = private_urls.display  # what a queue or case page shows of a reported URL


def _serialise_client(s: Session, client_hash: str) -> None:
    if s.get_bind().dialect.name == "postgresql":
        k = int.from_bytes(hashlib.sha256(client_hash.encode()).digest()[:8], "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": k})
    else:
        s.execute(text("DELETE FROM abuse_reports WHERE 1 = 0"))  # takes SQLite's write lock now


def _open_reports(s: Session, item_id: str) -> int:
    q = (
        select(func.count())
        .select_from(AbuseReport)
        .join(Case, Case.id == AbuseReport.case_id)
        .where(AbuseReport.item_id == item_id, Case.status == "open", AbuseReport.reporter == PUBLIC)
    )
    return int(s.scalar(q) or 0)


def _recent(s: Session, client_hash: str) -> int:
    q = select(func.count()).select_from(AbuseReport).where(AbuseReport.client_hash == client_hash)
    return int(s.scalar(q.where(AbuseReport.created_at >= utcnow() - timedelta(hours=1))) or 0)


def file_report(
    factory: sessionmaker[Session],
    cipher: Cipher,
    r: ReportIn,
    who: Reporter,
    limits: ReportLimits,
    mask: Mask,
    thumb: bytes | None = None,
) -> tuple[str, cases.Effects]:
    """Store the report, open or join its case, write the audit rows; all or nothing. Returns the
    reference and the webhook events to send after commit."""
    ref = new_reference()
    item_id = report_item_id(cipher, r)
    comment = mask(r.comment, "comment")
    masked_url = mask(url_display(r.url), "url") if r.url else None
    with factory() as s, s.begin():
        _serialise_client(s, who.client_hash)
        if not who.trusted:
            if _recent(s, who.client_hash) >= limits.per_hour:
                raise RateLimited("too many reports from this address; try again in an hour")
            if who.name == PUBLIC and _open_reports(s, item_id) >= limits.per_item:
                raise ItemReportCap("this listing already has many open reports; it is in the review queue")
        row = AbuseReport(
            reference=ref, item_id=item_id, category=r.category,
            url=seal_url(cipher, r.url) if r.url else None, comment_masked=comment,
            comment_sealed=cipher.seal(r.comment.encode(), b"report-comment") if r.comment else None,
            contact_sealed=cipher.seal(r.contact.encode(), b"report-contact") if r.contact else None,
            reporter=who.name[:128], trusted=who.trusted, client_hash=who.client_hash,
        )  # fmt: skip
        s.add(row)
        s.flush()
        fields = (MetaField("reported url", masked_url),) if masked_url else ()
        sig = cases.Signal(
            item_id, "listing", "trusted" if who.trusted else "report", "report", r.category,
            0.9 if who.trusted else 0.5, who.name, trusted=who.trusted, report_id=row.id,
            meta=CaseMeta(kind="listing", fields=fields),
        )  # fmt: skip
        c, fx = cases.open_or_join(s, sig)
        row.case_id = c.id
        if thumb is not None:
            cases.add_media(s, c, cipher, thumb)
        rows = [(who.name, "report.create", f"case:{c.id}", {"reference": ref, "category": r.category}), *fx.audit]
        for actor, action, target, detail in rows:
            audit.append_in(s, actor, action, target, detail)
    return ref, cases.Effects(events=fx.events)
