"""What a blocked visitor is shown, chosen per language, country and session bucket, with help links
that go through the counting redirect. Shared by /v1/query, /blocked and the help redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from indexguard.deterrence.counter import SessionTag
from indexguard.screen.deterrence import Shown
from indexguard.web.deps import services

HELP_PATH = "/go/help"
Present = Callable[[dict[str, Any]], None]


def shown_for(request: Request, tag: SessionTag | None, lang: str | None, country: str | None) -> Shown:
    det = services(request).live.policy.deterrence
    locale = det.locale_for(request.headers.get("accept-language"), lang)
    return det.choose(locale, tag.bucket if tag else None, country)


def payload(request: Request, shown: Shown, tag: SessionTag | None) -> dict[str, Any]:
    """The deterrence payload; each link's `href` is the counting redirect (the token says which
    variant and link, and the session's daily hash; never the reference or the query)."""
    counter = services(request).deterrence
    out = shown.payload()
    for i, link in enumerate(out["links"]):
        link["href"] = f"{HELP_PATH}?t={counter.link_token(tag, shown, i)}"
    return out


def presenter(request: Request, session: str | None, lang: str | None, country: str | None) -> Present:
    """Replaces a blocked decision's deterrence payload with the chosen variant, and counts the search."""
    counter = services(request).deterrence
    tag = counter.tag(session)

    def present(decision: dict[str, Any]) -> None:
        shown = None
        if decision.get("action") == "block":
            shown = shown_for(request, tag, lang, country)
            decision["deterrence"] = payload(request, shown, tag)
        cats = tuple(str(r.get("category", "")) for r in decision.get("reasons", []))
        counter.searched(tag, shown, cats)

    return present
