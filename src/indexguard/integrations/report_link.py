"""A "Report abuse" link for site templates (Jinja2 global, or call it directly)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from jinja2 import Environment
from markupsafe import Markup, escape

DEFAULT_LABEL = "Report abuse"


def report_url(base: str, item_id: str | None = None, **extra: str) -> str:
    """`base` with `item` (and any extra fields) added to its query string."""
    parts = urlsplit(base)
    fields = {k: v for k, v in (("item", item_id), *extra.items()) if v}
    query = "&".join(q for q in (parts.query, urlencode(fields)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def report_link(base: str, item_id: str | None = None, label: str = DEFAULT_LABEL,
                css_class: str = "indexguard-report", **extra: str) -> Markup:
    href = report_url(base, item_id, **extra)
    return Markup('<a class="{}" href="{}" rel="nofollow">{}</a>').format(css_class, href, escape(label))


def install_report_link(
    env: Environment, base: str, label: str = DEFAULT_LABEL, name: str = "report_abuse_link"
) -> None:
    """Adds `{{ report_abuse_link(item_id) }}` to a Jinja2 environment (Flask: `app.jinja_env`;
    Starlette/FastAPI: `Jinja2Templates(...).env`)."""

    def helper(item_id: Any = None, label: str = label, **extra: str) -> Markup:
        return report_link(base, None if item_id is None else str(item_id), label, **extra)

    env.globals[name] = helper
