"""How the service keeps URLs about items at rest: keyed, shown by host only, sealed for evidence.

One concept, one place. A URL that identifies an item (a listing's address, a reported URL, a
tracker or web-seed address in its metadata) is never stored in clear:
- as an identity (decision records, the deny set, the case's identities) it is its keyed digest:
  HMAC-SHA256 of the canonical URL under a subkey of the service key (`url_digest` of the core deny
  set), so a re-upload of the same address is still refused, and the address cannot be read back;
- where people look (case pages, the case API, decision records' `url_shown` pairs) it is shown as
  scheme and host only (`display`);
- where a hotline report or an evidence package needs the exact address, a sealed copy (AES-GCM,
  like other item data) is kept in the case, opened only when the report is made (`full_fields`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import replace

from indexguard.cases.meta import WITHHELD, CaseMeta, MetaField
from indexguard.cases.recording import ItemFacts
from indexguard.crypto import IDENTITY_URL, Cipher, KeyUnavailable
from indexguard.formats.url import UrlError, canonicalize
from indexguard.screen.deny_set import is_url_digest, url_digest

SEALED_PREFIX = "sealed:"
SHOWN = "url_shown"  # decision records: a URL identity's display form, beside its digest
ITEM_URL_CONTEXT = b"item-url"
REPORT_URL_CONTEXT = b"report-url"
HIDDEN = "(address withheld)"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{1,15}://\S+$")


def looks_like_url(text: str) -> bool:
    """A whole value that is an address with a scheme (what is sealed and shown by host)."""
    return bool(_URL.match(text))


def display(url: str) -> str:
    """What a queue or case page shows of a URL: its scheme and host (canonical where the address
    can be read: lowercase, no port, no user name); the rest withheld."""
    try:
        c = canonicalize(url.strip())
    except UrlError:
        c = None
    if c is not None and c.host:
        return f"{c.scheme}://{c.host}/\u2026"
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1] if sep else ""
    return f"{scheme}://{host}/\u2026" if host else HIDDEN


def seal(cipher: Cipher, url: str, context: bytes = ITEM_URL_CONTEXT) -> str:
    """A URL as stored where its exact text is needed later: sealed, readable only with the key."""
    sealed = cipher.seal(url.encode("utf-8", "surrogatepass"), context)
    return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")


def unseal(cipher: Cipher, stored: str | None, context: bytes = ITEM_URL_CONTEXT) -> str | None:
    """The URL a `seal` made (a value stored before URLs were sealed is returned as it is).
    KeyUnavailable when it does not open with this key."""
    if not stored:
        return None
    if not stored.startswith(SEALED_PREFIX):
        return stored
    try:
        raw = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise KeyUnavailable("stored URL is not in the expected sealed format") from None
    return cipher.open(raw, context).decode("utf-8", "surrogatepass")


def url_key(cipher: Cipher) -> bytes:
    """The key URL digests are made with (a subkey of the service key): the deny set's `url_key`."""
    return cipher.subkey(IDENTITY_URL)


class UrlKeys:
    """The service key's URL operations: digests for identities, sealed copies for evidence."""

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = cipher
        self.key = url_key(cipher)

    def digest(self, url: str) -> str | None:
        """The keyed digest of a URL's canonical form; None for an address that cannot be read."""
        if is_url_digest(url):
            return url
        try:
            return url_digest(self.key, canonicalize(url.strip()).key)
        except UrlError:
            return None

    def identities(self, ids: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """An item's identities as kept: each URL as its digest, with its display form under
        `url_shown`; an unreadable URL is dropped (nothing could match it anyway)."""
        out = {k: list(v) for k, v in ids.items() if k not in ("url", SHOWN)}
        digests: dict[str, None] = {}
        shown: dict[str, None] = dict.fromkeys(ids.get(SHOWN, ()))
        for u in ids.get("url", ()):
            if is_url_digest(u):
                digests[u] = None
                continue
            try:
                c = canonicalize(u.strip())  # once for both forms
            except UrlError:
                continue
            digests[url_digest(self.key, c.key)] = None
            shown[f"{c.scheme}://{c.host}/\u2026" if c.host else HIDDEN] = None
        if digests:
            out["url"] = list(digests)
        if shown:
            out[SHOWN] = list(shown)
        return out

    def meta(self, meta: CaseMeta, originals: Mapping[str, str] | None = None) -> CaseMeta:
        """Case metadata as stored: each URL-valued field shown by host, its text sealed (the
        original from `originals` by field name where given: a URL a list matched is withheld from
        view but still sealed for the hotline report), the item's URL digests among its identities."""
        originals = originals or {}
        sealed = dict(meta.sealed)
        digests: dict[str, None] = dict.fromkeys(meta.identities.get("url", ()))

        def protect(f: MetaField, is_url: bool) -> MetaField:
            full = originals.get(f.name, f.text)
            if not (is_url or looks_like_url(full)) or f.name in sealed:
                return f
            if full and full != WITHHELD:
                sealed[f.name] = seal(self.cipher, full)
                if is_url and (d := self.digest(full)) is not None:
                    digests[d] = None
            shown = f.text if f.text == WITHHELD else display(f.text)
            return replace(f, text=shown)

        ids = dict(meta.identities)
        urls = tuple(protect(u, True) for u in meta.urls)
        fields = tuple(protect(f, False) for f in meta.fields)
        if digests:
            ids["url"] = tuple(digests)
        return replace(meta, fields=fields, urls=urls, identities=ids, sealed=sealed)

    def facts(self, facts: ItemFacts, item_urls: list[str] | tuple[str, ...] = ()) -> ItemFacts:
        """What recording keeps of a screened item, its URLs keyed: decision records, the deny set,
        the queued case and the case row all get the protected forms from here."""
        originals = {f"urls[{i}]": u for i, u in enumerate(item_urls)}
        meta = self.meta(facts.case_meta, originals) if facts.case_meta is not None else None
        return replace(facts, identities=self.identities(facts.identities), case_meta=meta)


def full_fields(meta: CaseMeta, cipher: Cipher | None) -> dict[str, str]:
    """A case's fields by name with each sealed URL opened (for a hotline report or evidence);
    without the key, or where a copy does not open, the URL field is left out (never its
    display form, which is not an address)."""
    out = meta.by_name()
    out.update({u.name: u.text for u in meta.urls})
    for name in meta.sealed:
        out.pop(name, None)
        if cipher is None:
            continue
        try:
            full = unseal(cipher, meta.sealed[name])
        except KeyUnavailable:
            continue
        if full:
            out[name] = full
    return out


def full_urls(meta: CaseMeta, cipher: Cipher | None) -> tuple[str, ...]:
    """The item's own URLs (`urls[i]`), opened, in order; see `full_fields`."""
    opened = full_fields(meta, cipher)
    return tuple(opened[u.name] for u in meta.urls if u.name in opened and opened[u.name] != WITHHELD)
