"""The deterrence payload shown instead of results when a search is blocked.

Messages come as *variants* per language: an operator may word the same warning several ways and
let an A/B test tell which one leads more people to help. A variant is chosen deterministically from
a bucket in [0, 1) (the rotating session hash of `indexguard.deterrence`), so one session always
sees the same wording; the language comes from the visitor's `Accept-Language` (or an explicit
parameter), and help links can be narrowed to the visitor's country where the site passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from indexguard.screen.locales import negotiate

# The <meta name> every deterrence page carries, so a probe can tell it from a results page.
PAGE_MARKER = "indexguard-deterrence"


@dataclass(frozen=True, slots=True)
class HelpLink:
    name: str
    url: str
    region: str = ""  # ISO 3166-1 alpha-2 codes, comma separated; "*" or "": for everyone

    def serves(self, country: str | None) -> bool:
        if not country or self.region in ("", "*"):
            return True
        return country.upper() in {c.strip().upper() for c in self.region.split(",")}


@dataclass(frozen=True, slots=True)
class Variant:
    """One wording of the warning in one language. `links` empty: the language's default links."""

    id: str
    title: str
    message: str
    links: tuple[HelpLink, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Shown:
    """What one blocked visitor is shown: the variant, its language and the help links for them."""

    variant: Variant
    locale: str
    links: tuple[HelpLink, ...]
    country: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "title": self.variant.title,
            "message": self.variant.message,
            "links": [{"name": h.name, "url": h.url, "region": h.region} for h in self.links],
            "locale": self.locale,
            "variant": self.variant.id,
        }


# The default wording follows the published guidance for warning messages: plain language, the harm
# named, confidential help offered, and no threat of tracking or reporting that is not true.
INTERNATIONAL = HelpLink("Troubled Desire (international, anonymous self-help)", "https://troubled-desire.com/", "*")
DEFAULT_LINKS: tuple[HelpLink, ...] = (
    HelpLink("Stop It Now (UK & Ireland)", "https://www.stopitnow.org.uk/", "GB,IE"),
    HelpLink("Stop It Now (US)", "https://www.stopitnow.org/", "US"),
    HelpLink("Stop it Now! (Netherlands)", "https://stopitnow.nl/", "NL"),
    HelpLink("Kein Täter werden (Germany)", "https://www.kein-taeter-werden.de/", "DE"),
    INTERNATIONAL,
)
DEFAULT_MESSAGE = (
    "Sexual images and videos of children record the abuse of real children. Searching for, viewing or "
    "sharing them is illegal and harms the children shown, again, each time. If you are worried about your "
    "own thoughts or behaviour, confidential help is available: it is free, and you do not have to give "
    "your name."
)
DEFAULT_TITLE = "This search may be for child sexual abuse material"
DEFAULT_VARIANTS: dict[str, tuple[Variant, ...]] = {
    "en": (Variant("default", DEFAULT_TITLE, DEFAULT_MESSAGE),),
    "de": (Variant(
        "default",
        "Diese Suche könnte Darstellungen sexuellen Kindesmissbrauchs gelten",
        "Sexuelle Bilder und Videos von Kindern zeigen den Missbrauch echter Kinder. Solche Inhalte zu suchen, "
        "anzusehen oder zu teilen ist strafbar und fügt den gezeigten Kindern jedes Mal erneut Leid zu. Wenn Sie "
        "sich wegen Ihrer Gedanken oder Ihres Verhaltens Sorgen machen, gibt es vertrauliche Hilfe: kostenlos, "
        "und Sie müssen Ihren Namen nicht nennen.",
    ),),
    "fr": (Variant(
        "default",
        "Cette recherche pourrait viser des images d'abus sexuels sur des enfants",
        "Les images et vidéos sexuelles d'enfants montrent les abus subis par de vrais enfants. Les rechercher, "
        "les regarder ou les partager est illégal et fait du tort, à chaque fois, aux enfants qu'elles montrent. "
        "Si vos pensées ou votre comportement vous inquiètent, une aide confidentielle existe : elle est "
        "gratuite et vous n'avez pas à donner votre nom.",
    ),),
    "es": (Variant(
        "default",
        "Esta búsqueda podría estar dirigida a material de abuso sexual infantil",
        "Las imágenes y vídeos sexuales de menores registran el abuso de niños y niñas reales. Buscarlos, verlos "
        "o compartirlos es ilegal y vuelve a dañar, cada vez, a los menores que aparecen en ellos. Si te "
        "preocupan tus pensamientos o tu conducta, hay ayuda confidencial: es gratuita y no tienes que dar tu "
        "nombre.",
    ),),
}  # fmt: skip


def _frozen(d: Mapping[str, tuple[Any, ...]]) -> Mapping[str, tuple[Any, ...]]:
    return MappingProxyType(dict(d))


def _rebuild(variants: Mapping[str, tuple[Variant, ...]], links: Mapping[str, tuple[HelpLink, ...]],
             default_locale: str, messages: Mapping[str, str]) -> Deterrence:
    return Deterrence(_frozen(variants), _frozen(links), default_locale, messages)


@dataclass(frozen=True)
class Deterrence:
    """Variants and default help links per language; `default_locale` answers every other language.

    `messages` is the one-message form kept for callers that configure a single wording: a mapping
    of locale to message text, each becoming that locale's only variant.
    """

    variants: Mapping[str, tuple[Variant, ...]] = field(default_factory=lambda: _frozen(DEFAULT_VARIANTS))
    links: Mapping[str, tuple[HelpLink, ...]] = field(default_factory=lambda: _frozen({"default": DEFAULT_LINKS}))
    default_locale: str = "en"
    messages: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.messages:
            custom = {("en" if k == "default" else k): (Variant("default", DEFAULT_TITLE, m),)
                      for k, m in self.messages.items()}  # fmt: skip
            object.__setattr__(self, "variants", _frozen(custom))
        if self.default_locale not in self.variants:
            raise ValueError(f"deterrence: the default language {self.default_locale!r} has no variant")
        for loc, vs in self.variants.items():
            if not vs or any(v.weight < 0 for v in vs) or sum(v.weight for v in vs) <= 0:
                raise ValueError(f"deterrence: language {loc!r} needs at least one variant with a positive weight")

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; a sweep ships its compiled Screener to every worker.
        return (_rebuild, (dict(self.variants), dict(self.links), self.default_locale, dict(self.messages)))

    def locales(self) -> tuple[str, ...]:
        return tuple(self.variants)

    def locale_for(self, accept_language: str | None = None, requested: str | None = None) -> str:
        """The language to show: `requested` if offered, else the best match for Accept-Language."""
        return negotiate([requested] if requested else [], accept_language, self.locales(), self.default_locale)

    def choose(self, locale: str = "", bucket: float | None = None, country: str | None = None) -> Shown:
        """The variant for this bucket (None: the language's first, its control) and the links to show."""
        loc = locale if locale in self.variants else self.locale_for(locale or None)
        variants = self.variants[loc]
        variant = variants[0] if bucket is None else _pick(variants, bucket)
        return Shown(variant, loc, self.links_for(loc, variant, country), (country or "").upper())

    def links_for(self, locale: str, variant: Variant, country: str | None) -> tuple[HelpLink, ...]:
        """The variant's help links for a visitor from `country`: their national services first, then
        the international ones; everyone's links when no country is known."""
        base = variant.links or self.links.get(locale) or self.links.get("default") or DEFAULT_LINKS
        links = tuple(h for h in base if h.serves(country)) or tuple(h for h in base if h.region in ("", "*"))
        if country:
            links = tuple(sorted(links, key=lambda h: h.region in ("", "*")))
        return links or base

    def payload(
        self, locale: str = "default", bucket: float | None = None, country: str | None = None
    ) -> dict[str, Any]:
        return self.choose("" if locale == "default" else locale, bucket, country).payload()

    def variant(self, locale: str, variant_id: str) -> Variant | None:
        return next((v for v in self.variants.get(locale, ()) if v.id == variant_id), None)

    def link(self, locale: str, variant_id: str, country: str, index: int) -> HelpLink | None:
        """The link a help redirect points at, exactly as `choose` listed it; None if the catalog changed."""
        variant = self.variant(locale, variant_id)
        links = self.links_for(locale, variant, country or None) if variant else ()
        return links[index] if 0 <= index < len(links) else None


def _pick(variants: tuple[Variant, ...], bucket: float) -> Variant:
    total = sum(v.weight for v in variants)
    point = min(max(bucket, 0.0), 0.999_999_999) * total
    acc = 0.0
    for v in variants:
        acc += v.weight
        if point < acc:
            return v
    return variants[-1]
