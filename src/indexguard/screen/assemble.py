"""One way to assemble a Screener from loaded lists: the service, the CLI, the sweep and the proxy
all call `assemble`, so the same lists give the same matchers (and the same Decisions) everywhere."""

from __future__ import annotations

from collections.abc import Sequence

from indexguard.lists.hash_list import HashBank
from indexguard.lists.terms import TermList
from indexguard.lists.url_list import UrlList
from indexguard.match.url_match import UrlMatcher
from indexguard.screen.deny_set import DenySet
from indexguard.screen.hash_matchers import hash_matchers
from indexguard.screen.policy import Policy
from indexguard.screen.screener import IdentityMatcher, Screener


def assemble(
    terms: Sequence[TermList] = (),
    allow: Sequence[TermList] = (),
    *,
    banks: Sequence[HashBank] = (),
    urls: Sequence[UrlList] = (),
    policy: Policy | None = None,
    deny: DenySet | None = None,
    backend: str = "auto",
) -> Screener:
    """Term lists and allowlists to the term matcher; hash banks (allowlist banks included) to the
    exact and PDQ matchers; URL lists (allowlists included) to one URL matcher; the deny set, when
    given, as one more identity matcher. Hash and URL list versions join the Decision's versions."""
    hashes, images = hash_matchers(banks)
    identity: list[IdentityMatcher] = [*hashes, *([deny] if deny is not None else [])]
    return Screener.build(
        terms, allow, policy, backend=backend, identity_matchers=identity, image_matchers=images,
        url_matchers=[UrlMatcher(urls)] if urls else [],
        extra_versions={**{b.name: b.version for b in banks}, **{u.name: u.version for u in urls}},
    )  # fmt: skip
