"""The deterrence file: message variants per language, help links, and the experiment plan.

default_language = "en"

[experiment]                  # optional: the fixed-horizon plan of docs/deterrence.md
alpha = 0.05
power = 0.8
baseline_rate = 0.05          # expected help-click rate of the first (control) variant
minimum_effect = 0.02         # smallest absolute difference worth detecting
metric = "help_click"         # or "repeat_block"

[[link]]                      # default help links; `language` absent: for every language
name = "Stop It Now (UK & Ireland)"
url = "https://www.stopitnow.org.uk/"
region = "GB,IE"              # ISO 3166-1 codes, or "*" for everyone

[[variant]]                   # the first variant of a language is its control
id = "plain"
language = "en"
title = "This search may be for child sexual abuse material"
message = "..."
weight = 1                    # share of sessions, relative to the language's other variants
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexguard.deterrence.stats import ExperimentPlan
from indexguard.errors import IndexguardError
from indexguard.screen.deterrence import DEFAULT_LINKS, Deterrence, HelpLink, Variant
from indexguard.tomlfile import read_toml

MAX_FILE_BYTES = 1 << 20
MAX_VARIANTS = 200
MAX_TITLE = 200
MAX_MESSAGE = 2_000
MAX_URL = 2_048
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_REGION = re.compile(r"^(\*|[A-Z]{2}(,[A-Z]{2})*)?$")
METRICS = ("help_click", "repeat_block", "repeat_search")


class DeterrenceFileError(IndexguardError):
    """A deterrence file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Catalog:
    deterrence: Deterrence
    plan: ExperimentPlan


def load_catalog(path: str | Path) -> Catalog:
    data = read_toml(path, MAX_FILE_BYTES, DeterrenceFileError)
    return parse_catalog(data, str(path))


def parse_catalog(data: Mapping[str, Any], source: str = "deterrence file") -> Catalog:
    unknown = sorted(set(data) - {"default_language", "experiment", "link", "variant"})
    if unknown:
        raise DeterrenceFileError(f"{source}: unknown key(s) {', '.join(unknown)}")
    default = data.get("default_language", "en")
    if not isinstance(default, str) or not _LANG.match(default):
        raise DeterrenceFileError(f"{source}: default_language must be a language tag like 'en'")
    links = _links(data.get("link", []), source, "link")
    variants = data.get("variant", [])
    if not isinstance(variants, list) or not variants or len(variants) > MAX_VARIANTS:
        raise DeterrenceFileError(f"{source}: needs between 1 and {MAX_VARIANTS} [[variant]] tables")
    by_lang: dict[str, list[Variant]] = {}
    for i, v in enumerate(variants, 1):
        lang, variant = _variant(v, f"{source}: variant {i}")
        if any(x.id == variant.id for x in by_lang.get(lang, [])):
            raise DeterrenceFileError(f"{source}: variant {i}: id {variant.id!r} appears twice for {lang!r}")
        by_lang.setdefault(lang, []).append(variant)
    if default not in by_lang:
        raise DeterrenceFileError(f"{source}: default_language {default!r} has no variant")
    link_map: dict[str, tuple[HelpLink, ...]] = {"default": tuple(h for lg, h in links if lg is None) or DEFAULT_LINKS}
    for lang in by_lang:
        own = tuple(h for lg, h in links if lg == lang)
        if own:
            link_map[lang] = own + tuple(h for lg, h in links if lg is None)
    try:
        det = Deterrence(variants={k: tuple(v) for k, v in by_lang.items()}, links=link_map, default_locale=default)
    except ValueError as e:
        raise DeterrenceFileError(f"{source}: {e}") from None
    return Catalog(det, _plan(data.get("experiment", {}), source))


def _text(v: Mapping[str, Any], key: str, limit: int, where: str, required: bool = True) -> str:
    val = v.get(key, "")
    if not isinstance(val, str) or (required and not val.strip()) or len(val) > limit:
        raise DeterrenceFileError(f"{where}: {key} must be text of 1 to {limit} characters")
    return val.strip()


def _variant(v: Any, where: str) -> tuple[str, Variant]:
    if not isinstance(v, dict):
        raise DeterrenceFileError(f"{where}: must be a table")
    unknown = sorted(set(v) - {"id", "language", "title", "message", "weight", "link"})
    if unknown:
        raise DeterrenceFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
    vid = v.get("id")
    if not isinstance(vid, str) or not _ID.match(vid):
        raise DeterrenceFileError(f"{where}: id must be 1-40 lower-case letters, digits, '-' or '_'")
    lang = v.get("language", "en")
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise DeterrenceFileError(f"{where} ({vid}): language must be a tag like 'en' or 'pt-BR'")
    weight = v.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1_000_000:
        raise DeterrenceFileError(f"{where} ({vid}): weight must be a number from 0 to 1000000")
    links = tuple(h for _, h in _links(v.get("link", []), where, "link", nested=True))
    title = _text(v, "title", MAX_TITLE, f"{where} ({vid})")
    message = _text(v, "message", MAX_MESSAGE, f"{where} ({vid})")
    return lang, Variant(vid, title, message, links, float(weight))


def _links(items: Any, source: str, key: str, nested: bool = False) -> list[tuple[str | None, HelpLink]]:
    if not isinstance(items, list):
        raise DeterrenceFileError(f"{source}: [[{key}]] must be a list of tables")
    out: list[tuple[str | None, HelpLink]] = []
    for i, h in enumerate(items, 1):
        where = f"{source}: {key} {i}"
        if not isinstance(h, dict):
            raise DeterrenceFileError(f"{where}: must be a table")
        allowed = {"name", "url", "region"} | (set() if nested else {"language"})
        unknown = sorted(set(h) - allowed)
        if unknown:
            raise DeterrenceFileError(f"{where}: unknown key(s) {', '.join(unknown)}")
        name = _text(h, "name", MAX_TITLE, where)
        url = _text(h, "url", MAX_URL, where)
        if not url.startswith("https://") or any(c.isspace() for c in url):
            raise DeterrenceFileError(f"{where}: url must be an https:// address")
        region = h.get("region", "*")
        if not isinstance(region, str) or not _REGION.match(region.replace(" ", "").upper()):
            raise DeterrenceFileError(f"{where}: region must be '*' or country codes like 'GB,IE'")
        lang = h.get("language")
        if lang is not None and (not isinstance(lang, str) or not _LANG.match(lang)):
            raise DeterrenceFileError(f"{where}: language must be a tag like 'en'")
        out.append((lang, HelpLink(name, url, region.replace(" ", "").upper())))
    return out


def _plan(e: Any, source: str) -> ExperimentPlan:
    if not isinstance(e, dict):
        raise DeterrenceFileError(f"{source}: [experiment] must be a table")
    unknown = sorted(set(e) - {"alpha", "power", "baseline_rate", "minimum_effect", "metric"})
    if unknown:
        raise DeterrenceFileError(f"{source}: [experiment]: unknown key(s) {', '.join(unknown)}")
    plan = ExperimentPlan(**e)
    for name in ("alpha", "power", "baseline_rate"):
        val = getattr(plan, name)
        if isinstance(val, bool) or not isinstance(val, int | float) or not 0 < val < 1:
            raise DeterrenceFileError(f"{source}: [experiment] {name} must be between 0 and 1")
    if (
        isinstance(plan.minimum_effect, bool)
        or not isinstance(plan.minimum_effect, int | float)
        or not (0 < plan.minimum_effect < 1)
    ):
        raise DeterrenceFileError(f"{source}: [experiment] minimum_effect must be between 0 and 1")
    if plan.metric not in METRICS:
        raise DeterrenceFileError(f"{source}: [experiment] metric must be one of {', '.join(METRICS)}")
    return plan
