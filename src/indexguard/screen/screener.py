"""The screener: an Item becomes a Decision. This is the policy layer; it holds no database.

A Screener is immutable once built (compiled term databases, loaded hash and URL lists), so a service
swaps the whole object when a list version changes and every Decision names exactly one version set.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from indexguard.errors import IndexguardError
from indexguard.lists.terms import TermList
from indexguard.match.hit import Hit
from indexguard.match.term_matcher import LineFlags, TermMatcher
from indexguard.screen.decision import Decision, Reason, strongest
from indexguard.screen.extract import Extracted, extract
from indexguard.screen.item import Item
from indexguard.screen.policy import Policy


class IdentityMatcher(Protocol):
    """Exact identities (hashes, infohashes, NZB ids): hash lists and the deny set."""

    def match_identities(self, identities: dict[str, list[str]]) -> list[Hit]: ...


class UrlMatcher(Protocol):
    def match_url(self, url: str) -> list[Hit]: ...

    def match_text(self, text: str) -> list[Hit]: ...


class ImageMatcher(Protocol):
    def match_pdq(self, pdq: str, quality: int | None) -> list[Hit]: ...


@dataclass(frozen=True)
class Examined:
    """A Decision with what the Screener extracted to make it (parsed once: a caller that needs the
    fields, identities or names, e.g. for a case, reads them here instead of parsing again). None for
    a query, an item that could not be read, or one the bulk prefilter cleared."""

    decision: Decision
    extracted: Extracted | None = None


@dataclass(frozen=True)
class Screener:
    terms: TermMatcher
    policy: Policy = field(default_factory=Policy)
    identity_matchers: tuple[IdentityMatcher, ...] = ()
    url_matchers: tuple[UrlMatcher, ...] = ()
    image_matchers: tuple[ImageMatcher, ...] = ()
    extra_versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        term_lists: Sequence[TermList] = (),
        allow_lists: Sequence[TermList] = (),
        policy: Policy | None = None,
        *,
        backend: str = "auto",
        identity_matchers: Iterable[IdentityMatcher] = (),
        url_matchers: Iterable[UrlMatcher] = (),
        image_matchers: Iterable[ImageMatcher] = (),
        extra_versions: dict[str, str] | None = None,
    ) -> Screener:
        return cls(
            TermMatcher(term_lists, allow_lists, backend=backend),
            policy or Policy(),
            tuple(identity_matchers),
            tuple(url_matchers),
            tuple(image_matchers),
            dict(extra_versions or {}),
        )

    @property
    def canonicalizer(self) -> str:
        return self.terms.canon.version

    def versions(self) -> dict[str, str]:
        out = {tl.name: tl.version for tl in self.terms.lists}
        out.update(self.extra_versions)
        return out

    def query(self, text: str, id: str = "", *, reveal: bool = False, locale: str = "default") -> Decision:
        """The decision for one search query; a blocked query carries the deterrence payload."""
        decision = self._decide(id, [("query", text)], reveal=reveal)
        if decision.action == "block":
            decision.extra["deterrence"] = self.policy.deterrence.payload(locale)
        return decision

    def screen(self, item: Item, *, reveal: bool = False) -> Decision:
        return self.examine(item, reveal=reveal).decision

    def examine(self, item: Item, *, reveal: bool = False) -> Examined:
        """`screen`, handing on what was extracted."""
        if item.kind == "query":
            return Examined(self.query(item.text or item.title or "", item.id, reveal=reveal))
        try:
            ex = extract(item)
        except IndexguardError as e:
            return Examined(self._error(item.id, str(e)))
        reasons = self._reasons(ex, reveal=reveal)
        decision = self._finish(item.id, reasons)
        identities = {k: v for k, v in ex.identities.items() if v}
        if identities:
            decision.extra["identities"] = identities
        if ex.errors:
            decision.extra["errors"] = ex.errors
            if decision.action in ("allow", "warn"):
                decision.action = self.policy.error_action
        return Examined(decision, ex)

    def screen_many(self, items: Sequence[Item], *, reveal: bool = False) -> list[Decision]:
        """Screen many items; plain-text items that certainly match nothing skip the per-item path."""
        return [e.decision for e in self.examine_many(items, reveal=reveal)]

    def examine_many(self, items: Sequence[Item], *, reveal: bool = False) -> list[Examined]:
        """`screen_many`, handing on what was extracted (None for items the prefilter cleared)."""
        # With URL lists, free text can hold a listed link, so every item takes the full path.
        simple = [] if self.url_matchers else [i for i, it in enumerate(items) if _text_only(it)]
        texts: list[str] = []
        owner: list[int] = []
        for i in simple:
            for _, t in items[i].text_fields():
                texts.append(t)
                owner.append(i)
        flagged = {owner[j] for j in self.terms.needs_full_path(texts)}
        clean = set(simple) - flagged
        out: list[Examined] = []
        for i, it in enumerate(items):
            if i in clean:
                out.append(Examined(Decision(it.id, "allow", [], self.canonicalizer)))
            else:
                out.append(self.examine(it, reveal=reveal))
        return out

    def flag_lines(self, buf: bytes, newlines: Any = None) -> list[int] | None:
        """The bulk prefilter for plain-text rows: of an ASCII newline-separated buffer, the lines that
        may match. None when it cannot say (URL lists are loaded, a regex entry, non-ASCII): then every
        line needs `screen`."""
        return None if self.url_matchers else self.terms.flag_lines(buf, newlines)

    def bulk_lines(self, buf: bytes) -> LineFlags | None:
        """flag_lines, each line given by the offset where it starts, and the lines that begin with
        whitespace (see TermMatcher.bulk_lines)."""
        return None if self.url_matchers else self.terms.bulk_lines(buf)

    def needs_full_path(self, texts: Sequence[str]) -> list[int]:
        """Like flag_lines for a list of plain texts; every index when URL lists are loaded."""
        return list(range(len(texts))) if self.url_matchers else self.terms.needs_full_path(texts)

    def _decide(self, id: str, fields: list[tuple[str, str]], *, reveal: bool) -> Decision:
        return self._finish(id, self._term_reasons(fields, reveal=reveal))

    def _term_reasons(self, fields: list[tuple[str, str]], *, reveal: bool) -> list[Reason]:
        out: list[Reason] = []
        if len(fields) > 4:
            # A torrent has a field per file: one bulk scan finds the few that may match.
            fields = [fields[i] for i in self.terms.needs_full_path([t for _, t in fields])]
        for name, text in fields:
            fm = self.terms.match(text)
            for ref, span, view in fm.matches:
                e = ref.entry
                out.append(
                    Reason(
                        ref.list.name, ref.list.version, e.id, e.category, name, view, span, e.severity,
                        detail=e.term if reveal else None,
                    )
                )
            out += [Reason("indexguard", "", "regex-timeout", "error", name, "regex", None, "review", msg)
                    for msg in fm.errors]
        return out

    def _reasons(self, ex: Extracted, *, reveal: bool) -> list[Reason]:
        reasons = self._term_reasons(ex.text_fields, reveal=reveal)
        lookup = ex.lookup_identities()
        for m in self.identity_matchers:
            reasons += _hit_reasons(m.match_identities(lookup), "identities")
        for um in self.url_matchers:
            for fname, url in ex.urls:
                reasons += _hit_reasons(um.match_url(url), fname)
            # Links written into titles and descriptions, defanged ones included.
            for fname, text in ex.text_fields:
                reasons += _hit_reasons(um.match_text(text), fname)
        for pdq, quality in ex.pdq:
            for im in self.image_matchers:
                reasons += _hit_reasons(im.match_pdq(pdq, quality), "pdq")
        reasons += ex.disagreements
        return reasons

    def _finish(self, id: str, reasons: list[Reason]) -> Decision:
        action = strongest([self.policy.action_for(r.severity, r.category) for r in reasons])
        return Decision(id, action, reasons, self.canonicalizer)

    def _error(self, id: str, message: str) -> Decision:
        d = Decision(id, self.policy.error_action, [], self.canonicalizer)
        d.extra["error"] = message
        return d


def _text_only(item: Item) -> bool:
    return item.kind in ("listing", "url") and not (
        item.raw or item.magnet or item.urls or item.hashes or item.uploader
    )


def _hit_reasons(hits: list[Hit], field_name: str) -> list[Reason]:
    out = []
    for h in hits:
        where = h.extra.get("field", field_name)
        detail: Any = h.extra.get("detail")
        out.append(
            Reason(h.list, h.list_version, h.entry, h.category, str(where), h.view, h.span, h.severity,
                   str(detail) if detail is not None else None)
        )
    return out
