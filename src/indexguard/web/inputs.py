"""Input checks every route shares: text that cannot be stored or screened safely gets a clear 4xx.

Limits apply after normalisation: one compatibility character (U+FDFA) becomes 18 under NFKC, so
a field's length is checked on the NFKC form the canonicalizer will build, which bounds the work
and memory screening may spend on it. Error messages name the field and the rule, never the input.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, model_validator

MAX_DEPTH = 8  # a JSON item is flat; nested values deeper than this are refused, not walked


class InputProblem(ValueError):
    """Input the service refuses; the message is safe to show (it never quotes the input)."""

    status = 422


class TooLarge(InputProblem):
    """Input over a size limit (413)."""

    status = 413


def text_problem(value: str, *, nul_ok: bool = False) -> str | None:
    """Why `value` cannot be accepted as text, or None: a lone surrogate (not Unicode, cannot be
    encoded) or a NUL (PostgreSQL cannot store it in text)."""
    if not nul_ok and "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def normalized_length(value: str, limit: int) -> int:
    """The NFKC length of `value`, computed only when it could exceed `limit` (NFKC expands a
    character at most 18-fold, so short text is not normalised twice)."""
    if len(value) * 18 <= limit:
        return len(value)
    return len(unicodedata.normalize("NFKC", value))


def check_text(name: str, value: str | None, limit: int, *, nul_ok: bool = False) -> None:
    if value is None:
        return
    if len(value) > limit:
        raise TooLarge(f"{name}: longer than {limit} characters")
    why = text_problem(value, nul_ok=nul_ok)
    if why:
        raise InputProblem(f"{name}: {why}")
    if normalized_length(value, limit) > limit:
        raise TooLarge(f"{name}: longer than {limit} characters once normalised (NFKC)")


def walk(obj: Any, where: str, depth: int = 0, *, nul_ok: bool = True) -> None:
    """Every string inside parsed JSON is valid Unicode; nesting is bounded."""
    if depth > MAX_DEPTH:
        raise InputProblem(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, str):
        why = text_problem(obj, nul_ok=nul_ok)
        if why:
            raise InputProblem(f"{where}: {why}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            walk(k, where, depth + 1, nul_ok=nul_ok)
            walk(v, f"{where}.{str(k)[:40]}" if str(k).isprintable() else where, depth + 1, nul_ok=nul_ok)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            walk(v, f"{where}[{i}]", depth + 1, nul_ok=nul_ok)


class CheckedModel(BaseModel):
    """A request body whose strings are all valid Unicode, shallowly nested (extra keys included)."""

    @model_validator(mode="after")
    def _valid_text(self) -> CheckedModel:
        for name in type(self).model_fields:
            walk(getattr(self, name), name, nul_ok=True)
        for name, value in (self.model_extra or {}).items():
            walk(value, "extra field" if not str(name).isprintable() else str(name)[:40], nul_ok=True)
            walk(name, "field name")
        return self


def refuse(problem: InputProblem) -> HTTPException:
    return HTTPException(problem.status, str(problem))


_ITEM_TEXT = ("title", "text", "description", "magnet", "url", "q")
_ITEM_LISTS = ("files", "urls", "pdq", "md5", "sha1", "sha256", "infohash")


def check_item(obj: dict[str, Any], where: str, field_limit: int, list_limit: int) -> int:
    """Refuse an item whose text fields or lists are too long after normalisation; returns its
    normalised size in characters, for a per-request budget."""
    walk(obj, where, nul_ok=True)
    total = 0
    for name in _ITEM_TEXT:
        v = obj.get(name)
        if isinstance(v, str):
            check_text(f"{where}.{name}", v, field_limit, nul_ok=True)
            total += normalized_length(v, field_limit)
    for name in _ITEM_LISTS:
        v = obj.get(name)
        if isinstance(v, list):
            if len(v) > list_limit:
                raise TooLarge(f"{where}.{name}: more than {list_limit} entries")
            for i, x in enumerate(v):
                if isinstance(x, str):
                    check_text(f"{where}.{name}[{i}]", x, field_limit, nul_ok=True)
                    total += normalized_length(x, field_limit)
        elif isinstance(v, str):
            check_text(f"{where}.{name}", v, field_limit, nul_ok=True)
            total += normalized_length(v, field_limit)
    for k, v in obj.items():
        if k not in _ITEM_TEXT and k not in _ITEM_LISTS and isinstance(v, str):
            check_text(f"{where}.{str(k)[:40]}", v, field_limit, nul_ok=True)
            total += len(v)
    return total
