"""The national hotline directory: where a person should report abuse material, by country.

Built-in defaults cover the large national hotlines and INHOPE's member directory (the way to every
other national hotline). An operator can add or replace entries with a TOML file (setting
`hotlines_file`):

    replace_defaults = false      # true: use only the hotlines below
    [[hotline]]
    name = "Example national hotline"
    country = "DE"                # ISO 3166-1 alpha-2, or "*" for an international directory
    url = "https://hotline.example.org/report"
    description = "Reports in German and English"

Without `replace_defaults`, a file entry for a country replaces the defaults for that country; the
defaults for the other countries stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError
from indexguard.tomlfile import read_toml

INTERNATIONAL = "*"
MAX_FILE_BYTES = 1 << 20
MAX_ENTRIES = 500
MAX_TEXT = 300
MAX_URL = 2_048
# Common names people type for a country whose ISO code differs.
ALIASES: dict[str, str] = {"UK": "GB", "EL": "GR"}
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class HotlineDirectoryError(IndexguardError):
    """A hotline directory file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Hotline:
    name: str
    country: str  # ISO 3166-1 alpha-2, or "*" for an international directory
    url: str
    description: str = ""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "country": self.country, "url": self.url, "description": self.description}


DEFAULT_HOTLINES: tuple[Hotline, ...] = (
    Hotline("Internet Watch Foundation (IWF)", "GB", "https://report.iwf.org.uk/",
            "Report child sexual abuse imagery online, anonymously."),
    Hotline("NCMEC CyberTipline", "US", "https://report.cybertip.org/",
            "The US national clearinghouse for reports of child sexual exploitation."),
    Hotline("Cybertip.ca", "CA", "https://www.cybertip.ca/",
            "Canada's tipline for reporting the online sexual exploitation of children."),
    Hotline("eSafety Commissioner", "AU", "https://www.esafety.gov.au/report",
            "Australia's regulator: report illegal and restricted online content."),
    Hotline("INHOPE member hotlines", INTERNATIONAL, "https://www.inhope.org/EN/our-members",
            "Find the national hotline of your country in the INHOPE network."),
)  # fmt: skip


def normalize_country(code: str) -> str:
    """Upper-case ISO code with common aliases resolved ("uk" -> "GB"); "" when not a country code."""
    c = code.strip().upper()
    c = ALIASES.get(c, c)
    return c if _COUNTRY.match(c) or c == INTERNATIONAL else ""


@dataclass(frozen=True)
class HotlineDirectory:
    hotlines: tuple[Hotline, ...] = field(default=DEFAULT_HOTLINES)

    def international(self) -> list[Hotline]:
        return [h for h in self.hotlines if h.country == INTERNATIONAL]

    def for_country(self, code: str | None) -> list[Hotline]:
        """The country's own hotlines first, then the international directories. An unknown or
        missing country gets the international directories only."""
        c = normalize_country(code or "")
        national = [h for h in self.hotlines if c and c != INTERNATIONAL and h.country == c]
        return national + self.international()

    def countries(self) -> list[str]:
        return sorted({h.country for h in self.hotlines if h.country != INTERNATIONAL})


DEFAULT_DIRECTORY = HotlineDirectory()


def for_country(code: str | None, directory: HotlineDirectory = DEFAULT_DIRECTORY) -> list[Hotline]:
    """Where someone in country `code` should report: see `HotlineDirectory.for_country`."""
    return directory.for_country(code)


def load_directory(path: str | Path | None) -> HotlineDirectory:
    """The directory from a TOML file; the defaults when `path` is None or empty."""
    if path is None or str(path) == "":
        return DEFAULT_DIRECTORY
    data = read_toml(path, MAX_FILE_BYTES, HotlineDirectoryError)
    return parse_directory(data, str(path))


def parse_directory(data: dict[str, Any], source: str = "hotline directory") -> HotlineDirectory:
    unknown = sorted(k for k in data if k not in ("replace_defaults", "hotline"))
    if unknown:
        raise HotlineDirectoryError(
            f"{source}: unknown key(s) {', '.join(unknown)} (expected replace_defaults, hotline)"
        )
    replace = data.get("replace_defaults", False)
    if not isinstance(replace, bool):
        raise HotlineDirectoryError(f"{source}: replace_defaults must be true or false")
    entries = data.get("hotline", [])
    if not isinstance(entries, list):
        raise HotlineDirectoryError(f"{source}: hotline must be an array of tables ([[hotline]])")
    if len(entries) > MAX_ENTRIES:
        raise HotlineDirectoryError(f"{source}: more than {MAX_ENTRIES} hotlines")
    mine = tuple(_entry(e, f"{source}: hotline {i + 1}") for i, e in enumerate(entries))
    if replace:
        if not mine:
            raise HotlineDirectoryError(f"{source}: replace_defaults is true but no hotline is listed")
        return HotlineDirectory(mine)
    covered = {h.country for h in mine}
    return HotlineDirectory(mine + tuple(h for h in DEFAULT_HOTLINES if h.country not in covered))


def _entry(e: Any, where: str) -> Hotline:
    if not isinstance(e, dict):
        raise HotlineDirectoryError(f"{where}: must be a table")
    unknown = sorted(k for k in e if k not in ("name", "country", "url", "description"))
    if unknown:
        raise HotlineDirectoryError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name, country, url, desc = (e.get(k, "") for k in ("name", "country", "url", "description"))
    if not all(isinstance(x, str) for x in (name, country, url, desc)):
        raise HotlineDirectoryError(f"{where}: name, country, url and description must be strings")
    name, url, desc = name.strip(), url.strip(), desc.strip()
    if not name or len(name) > MAX_TEXT or not name.isprintable():
        raise HotlineDirectoryError(f"{where}: name must be 1 to {MAX_TEXT} printable characters")
    code = normalize_country(country)
    if not code:
        raise HotlineDirectoryError(f"{where}: country must be an ISO 3166-1 alpha-2 code or '*', not {country!r}")
    if not url.lower().startswith("https://") or len(url) > MAX_URL or not url.isprintable() or " " in url:
        raise HotlineDirectoryError(f"{where}: url must be an https:// address of at most {MAX_URL} characters")
    if len(desc) > MAX_TEXT or not desc.isprintable():
        raise HotlineDirectoryError(f"{where}: description must be at most {MAX_TEXT} printable characters")
    return Hotline(name, code, url, desc)
