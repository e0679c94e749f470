"""Canary self-audit: does this site really block? Checks end to end, from the outside, that a
search for the canary token is blocked, that a listing carrying it is refused or hidden, and that
the report page answers.

The canary is a reserved placeholder token the operator adds to their own term list (it matches
nothing real). The probe talks only to the URLs it is given and never follows redirects.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx

from indexguard.errors import IndexguardError
from indexguard.integrations.guard import MARKER

Status = Literal["pass", "fail", "skip"]
REFUSED_STATUSES = frozenset((400, 403, 409, 410, 422, 451))
BLOCKED_STATUSES = frozenset((403, 451))
MAX_BODY = 2 * 1024 * 1024


class ProbeError(IndexguardError):
    """A probe that cannot run as configured (e.g. a search URL without `{q}`)."""


@dataclass(frozen=True)
class ProbeConfig:
    search_url: str  # with `{q}` where the query goes
    canary: str
    upload_url: str | None = None  # receives a form POST of a listing (title, description)
    report_url: str | None = None
    blocked_markers: tuple[str, ...] = (MARKER,)
    title_field: str = "title"
    description_field: str = "description"
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        if "{q}" not in self.search_url:
            raise ProbeError("--search-url must contain {q} where the search text goes")
        if not self.canary.strip():
            raise ProbeError("--canary must not be empty")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    http_status: int | None = None


@dataclass
class ProbeReport:
    site: str
    checks: list[Check] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"site": self.site, "passed": self.passed, "started": self.started,
                "checks": [asdict(c) for c in self.checks]}


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None
    body: str
    error: str | None = None


def run_probe(cfg: ProbeConfig) -> ProbeReport:
    report = ProbeReport(site=cfg.search_url)
    with httpx.Client(timeout=cfg.timeout, follow_redirects=False, transport=cfg.transport) as client:
        probe = _Probe(cfg, client)
        report.checks.append(probe.control_search())
        report.checks.append(probe.canary_search())
        report.checks.append(probe.canary_listing())
        report.checks.append(probe.report_page())
    return report


class _Probe:
    def __init__(self, cfg: ProbeConfig, client: httpx.Client) -> None:
        self.cfg = cfg
        self.client = client

    def control_search(self) -> Check:
        name = "benign search answered"
        a = self._search(_nonce())
        if a.error or a.status is None:
            return Check(name, "fail", f"no answer: {a.error}", a.status)
        if not 200 <= a.status < 300 or self._blocked(a):
            return Check(name, "fail", "a benign search was not answered normally (the site blocks everything "
                         "or is down), so the canary result means nothing", a.status)
        return Check(name, "pass", "a benign search returned results normally", a.status)

    def canary_search(self) -> Check:
        name = "canary search blocked"
        a = self._search(self.cfg.canary)
        if a.error or a.status is None:
            return Check(name, "fail", f"no answer: {a.error}", a.status)
        if not self._blocked(a):
            return Check(name, "fail", "the canary search was answered like any other search", a.status)
        if self.cfg.canary.lower() in a.body.lower():
            return Check(name, "fail", "blocked, but the block page echoes the query", a.status)
        how = "redirected away" if 300 <= a.status < 400 else "deterrence page served"
        return Check(name, "pass", how, a.status)

    def canary_listing(self) -> Check:
        name = "canary listing refused or hidden"
        if not self.cfg.upload_url:
            return Check(name, "skip", "no --upload-url given")
        nonce = _nonce()
        form = {self.cfg.title_field: f"{self.cfg.canary} {nonce}",
                self.cfg.description_field: "indexguard canary self-audit listing; remove on sight"}
        a = self._request("POST", self.cfg.upload_url, data=form)
        if a.error or a.status is None:
            return Check(name, "fail", f"upload endpoint did not answer: {a.error}", a.status)
        if a.status in REFUSED_STATUSES or self._blocked(a):
            return Check(name, "pass", f"refused (HTTP {a.status})", a.status)
        if a.status >= 500:
            return Check(name, "fail", "the upload endpoint failed instead of refusing", a.status)
        listed = self._search(nonce)
        if listed.error or listed.status is None:
            return Check(name, "fail", f"accepted; the follow-up search did not answer: {listed.error}", a.status)
        if nonce in listed.body:
            return Check(name, "fail", "accepted and listed: a search for the listing finds it", a.status)
        return Check(name, "pass", "accepted but hidden: a search for the listing does not find it", a.status)

    def report_page(self) -> Check:
        name = "report link works"
        if not self.cfg.report_url:
            return Check(name, "skip", "no --report-url given")
        a = self._request("GET", self.cfg.report_url)
        if a.error or a.status is None:
            return Check(name, "fail", f"no answer: {a.error}", a.status)
        if 200 <= a.status < 300 and a.body.strip():
            return Check(name, "pass", "the report page answers", a.status)
        return Check(name, "fail", "the report page did not answer with a page", a.status)

    def _search(self, text: str) -> _Answer:
        return self._request("GET", self.cfg.search_url.replace("{q}", quote_plus(text)))

    def _blocked(self, a: _Answer) -> bool:
        if a.status is None:
            return False
        if a.status in BLOCKED_STATUSES or 300 <= a.status < 400:
            return True
        return any(m and m in a.body for m in self.cfg.blocked_markers)

    def _request(self, method: str, url: str, **kwargs: Any) -> _Answer:
        try:
            with self.client.stream(method, url, **kwargs) as resp:
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        break
                return _Answer(resp.status_code, body[:MAX_BODY].decode("utf-8", "replace"))
        except httpx.HTTPError as e:
            return _Answer(None, "", f"{type(e).__name__}: {e}"[:300])


def _nonce() -> str:
    return "igprobe" + secrets.token_hex(6)
