"""The deterrence payload shown instead of results when a search is blocked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The <meta name> every deterrence page carries, so a probe can tell it from a results page.
PAGE_MARKER = "indexguard-deterrence"


@dataclass(frozen=True, slots=True)
class HelpLink:
    name: str
    url: str
    region: str = ""


DEFAULT_MESSAGE = (
    "Your search may be looking for sexual images of children. Viewing, downloading or sharing such "
    "material is illegal, harms real children, and can be traced. If you are worried about your own "
    "thoughts or behaviour, confidential, anonymous help is available."
)

DEFAULT_LINKS: tuple[HelpLink, ...] = (
    HelpLink("Stop It Now (UK & Ireland)", "https://www.stopitnow.org.uk/", "GB,IE"),
    HelpLink("Stop It Now (US)", "https://www.stopitnow.org/", "US"),
    HelpLink("Troubled Desire (international, self-help)", "https://troubled-desire.com/", "*"),
)


@dataclass(frozen=True, slots=True)
class Deterrence:
    """Message and help links per locale; `default` is used for a locale with no entry of its own."""

    messages: dict[str, str] = field(default_factory=lambda: {"default": DEFAULT_MESSAGE})
    links: dict[str, tuple[HelpLink, ...]] = field(default_factory=lambda: {"default": DEFAULT_LINKS})

    def payload(self, locale: str = "default") -> dict[str, Any]:
        lang = locale.split("-")[0].lower() if locale else "default"
        message = self.messages.get(locale) or self.messages.get(lang) or self.messages["default"]
        links = self.links.get(locale) or self.links.get(lang) or self.links["default"]
        return {
            "message": message,
            "links": [{"name": h.name, "url": h.url, "region": h.region} for h in links],
        }
