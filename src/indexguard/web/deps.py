"""What every request may need, held on `app.state.services` (one instance per worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from indexguard.cases.private_urls import UrlKeys
from indexguard.crypto import Cipher
from indexguard.deterrence.counter import DeterrenceCounter, counter_for
from indexguard.hotline.directory import DEFAULT_DIRECTORY, HotlineDirectory
from indexguard.settings import Settings
from indexguard.web.auth import KeyCache
from indexguard.web.listing_writer import ListingWriter
from indexguard.web.live import LiveLists, LiveState
from indexguard.web.metrics import Metrics
from indexguard.web.pool import ScreenPool
from indexguard.web.recorder import Recorder


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: Cipher
    live: LiveLists
    metrics: Metrics
    keys: KeyCache
    recorder: Recorder
    hotlines: HotlineDirectory = field(default=DEFAULT_DIRECTORY)  # from settings.hotlines_file
    pool: ScreenPool = field(default_factory=lambda: ScreenPool(4, 64))  # CPU-heavy work, off the loop
    listings: ListingWriter | None = None  # group commit + durable queue for tracked items (issue 15)
    deterrence: DeterrenceCounter = field(init=False)
    url_keys: UrlKeys = field(init=False)  # how item URLs are kept at rest (keyed, sealed)

    def __post_init__(self) -> None:
        self.deterrence = counter_for(self.settings, self.sessions, self.cipher)
        self.url_keys = UrlKeys(self.cipher)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def live_state(request: Request) -> LiveState:
    state = services(request).live.state
    if state is None:
        raise HTTPException(503, "no screener loaded yet; retry shortly")
    return state


def secure_request(request: Request) -> bool:
    """Whether cookies must be Secure: the setting says so, or the request came over HTTPS - directly
    or through a trusted proxy (uvicorn rewrites the scheme from X-Forwarded-Proto only for the
    addresses in `trusted_proxies`)."""
    return services(request).settings.secure_cookies or request.url.scheme == "https"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
