"""NZB files (Newzbin NZB 1.1) parsed for screening, plain or gzipped.

XML goes through defusedxml with DTDs allowed (every real NZB has a DOCTYPE) and entity
declarations and external references forbidden. Gzip input is detected by its magic bytes and
decompressed in a stream that stops as soon as the size or ratio cap is passed.

The NZB identity is the SHA-256 (hex) of its message-id set: each id stripped of whitespace and of
one pair of enclosing angle brackets, de-duplicated, sorted, joined with "\\n", UTF-8 encoded.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from indexguard.formats.errors import FormatError, FormatLimitExceeded
from indexguard.formats.fields import FormatWarning

KIND = "nzb"
GZIP_MAGIC = b"\x1f\x8b"
_SUBJECT_NAME = re.compile(r'"([^"]+)"')
# Unquoted fallback: the last "name.ext" token before a "(1/2)"-style part counter or the end.
_SUBJECT_BARE = re.compile(r'([^\s"]+\.[A-Za-z0-9]{2,5})(?=\s*(?:\(\d+/\d+\)|yEnc\b|$))')
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class NzbLimits:
    max_compressed: int = 16 * 1024 * 1024
    max_decompressed: int = 64 * 1024 * 1024
    max_ratio: int = 100  # decompressed / compressed, checked once output passes ratio_floor
    ratio_floor: int = 1024 * 1024
    max_files: int = 100_000
    max_segments: int = 5_000_000


DEFAULT_NZB_LIMITS = NzbLimits()


@dataclass(frozen=True, slots=True)
class Segment:
    number: int | None
    bytes: int | None
    message_id: str


@dataclass(slots=True)
class NzbFile:
    poster: str
    subject: str
    date: int | None
    groups: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        """The file name posters put in quotes in the subject, when there is one."""
        m = _SUBJECT_NAME.search(self.subject) or _SUBJECT_BARE.search(self.subject)
        return m.group(1) if m else None

    @property
    def size(self) -> int:
        return sum(s.bytes or 0 for s in self.segments)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "subject": self.subject,
            "poster": self.poster,
            "date": self.date,
            "groups": self.groups,
            "size": self.size,
            "segments": len(self.segments),
        }


@dataclass(slots=True)
class Nzb:
    filename: str | None
    gzipped: bool = False
    meta: list[tuple[str, str]] = field(default_factory=list)
    files: list[NzbFile] = field(default_factory=list)
    warnings: list[FormatWarning] = field(default_factory=list)
    errors: list[FormatWarning] = field(default_factory=list)

    def message_ids(self) -> list[str]:
        """The normalised, de-duplicated, sorted message-id set."""
        return sorted({_norm_id(s.message_id) for f in self.files for s in f.segments} - {""})

    @property
    def nzb_id(self) -> str:
        return hashlib.sha256("\n".join(self.message_ids()).encode("utf-8")).hexdigest()

    def text_fields(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.filename:
            out.append(("filename", self.filename))
        counts: dict[str, int] = {}
        for typ, value in self.meta:
            n = counts[typ] = counts.get(typ, 0) + 1
            out.append((f"meta.{typ}" + (f"#{n}" if n > 1 else ""), value))
        for i, f in enumerate(self.files):
            out.append((f"files[{i}].subject", f.subject))
            if f.name:
                out.append((f"files[{i}].name", f.name))
            out.append((f"files[{i}].poster", f.poster))
            out.extend((f"files[{i}].groups[{j}]", g) for j, g in enumerate(f.groups))
        return [(k, v) for k, v in out if v]

    def identities(self) -> dict[str, list[str]]:
        return {"nzb_id": [self.nzb_id] if self.message_ids() else []}

    def urls(self) -> list[str]:
        return []

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "nzb",
            "filename": self.filename,
            "gzipped": self.gzipped,
            "nzb_id": self.nzb_id if self.message_ids() else None,
            "meta": [{"type": t, "value": v} for t, v in self.meta],
            "files": [f.to_json() for f in self.files],
            "total_size": sum(f.size for f in self.files),
            "segments": sum(len(f.segments) for f in self.files),
            "identities": self.identities(),
            "warnings": [w.to_json() for w in self.warnings],
            "errors": [e.to_json() for e in self.errors],
        }


def _norm_id(mid: str) -> str:
    mid = mid.strip()
    if mid.startswith("<") and mid.endswith(">"):
        mid = mid[1:-1].strip()
    return mid


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def gunzip_capped(data: bytes, limits: NzbLimits = DEFAULT_NZB_LIMITS) -> bytes:
    """Decompress gzip in a stream, refusing as soon as the size or the ratio cap is passed."""
    if len(data) > limits.max_compressed:
        raise FormatLimitExceeded(KIND, "too_large", f"{len(data)} compressed bytes is over the limit")
    d = zlib.decompressobj(wbits=31)
    out: list[bytes] = []
    total = 0
    pos = 0
    pending = b""
    try:
        while pos < len(data) or pending:
            if not pending:
                pending = data[pos : pos + _CHUNK]
                pos += _CHUNK
            chunk = d.decompress(pending, _CHUNK)
            pending = d.unconsumed_tail
            total += len(chunk)
            _check_growth(total, max(pos - len(pending), 1), limits)
            out.append(chunk)
            if d.eof:
                break
        if not d.eof:
            raise FormatError(KIND, "truncated_gzip", "the gzip stream ends early", len(data))
    except zlib.error as e:
        raise FormatError(KIND, "bad_gzip", f"gzip data is corrupt ({e})") from None
    return b"".join(out)


def _check_growth(total: int, consumed: int, limits: NzbLimits) -> None:
    if total > limits.max_decompressed:
        raise FormatLimitExceeded(KIND, "too_large_decompressed",
                                  f"over {limits.max_decompressed} bytes once decompressed")
    if total > limits.ratio_floor and total > consumed * limits.max_ratio:
        raise FormatLimitExceeded(KIND, "gzip_ratio", f"gunzip ratio over {limits.max_ratio}:1")


def parse_nzb(data: bytes, filename: str | None = None, *, strict: bool = True,
              limits: NzbLimits = DEFAULT_NZB_LIMITS) -> Nzb:
    """Parse an NZB (plain or gzipped). Raises FormatError / FormatLimitExceeded.

    With strict=False an NZB that is well-formed XML but unusable (no files, no segments) is
    returned with `errors` filled instead of raising."""
    nzb = Nzb(filename=filename)
    if is_gzip(data):
        data = gunzip_capped(data, limits)
        nzb.gzipped = True
    elif filename and filename.lower().endswith(".gz"):
        nzb.warnings.append(FormatWarning("not_gzipped", "the name ends in .gz but the content is plain"))
    if len(data) > limits.max_decompressed:
        raise FormatLimitExceeded(KIND, "too_large", f"{len(data)} bytes is over the limit")
    root = _xml(data)
    if _local(root.tag) != "nzb":
        raise FormatError(KIND, "not_an_nzb", f"the root element is <{_local(root.tag)}>, not <nzb>")
    for el in root:
        tag = _local(el.tag)
        if tag == "head":
            _head(nzb, el)
        elif tag == "file":
            if len(nzb.files) >= limits.max_files:
                raise FormatLimitExceeded(KIND, "too_many_files", f"more than {limits.max_files} files")
            nzb.files.append(_file(nzb, el, len(nzb.files)))
    if sum(len(f.segments) for f in nzb.files) > limits.max_segments:
        raise FormatLimitExceeded(KIND, "too_many_segments", f"more than {limits.max_segments} segments")
    if not nzb.files:
        nzb.errors.append(FormatWarning("no_files", "the NZB lists no <file>"))
    elif not any(f.segments for f in nzb.files):
        nzb.errors.append(FormatWarning("no_segments", "no <file> has a usable <segment>"))
    nzb.warnings = _dedupe(nzb.warnings)
    if strict and nzb.errors:
        raise FormatError(KIND, nzb.errors[0].code, nzb.errors[0].message)
    return nzb


def _dedupe(warnings: list[FormatWarning]) -> list[FormatWarning]:
    """One warning per (code, fields): a file with a million bad segments says so once per file."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for w in warnings:
        if (w.code, w.fields) not in seen:
            seen.add((w.code, w.fields))
            out.append(w)
    return out


def _xml(data: bytes) -> Element:
    try:
        root: Element = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise FormatError(KIND, "forbidden_xml", f"entity declarations or external references ({e})") from None
    except ParseError as e:
        line, col = getattr(e, "position", (None, None))
        raise FormatError(KIND, "bad_xml", f"not well-formed XML (line {line}, column {col})") from None
    except (ValueError, UnicodeError, LookupError) as e:
        raise FormatError(KIND, "bad_xml", f"undecodable XML ({e})") from None
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _head(nzb: Nzb, head: Element) -> None:
    for el in head:
        if _local(el.tag) == "meta":
            typ = (el.get("type") or "").strip().lower() or "untyped"
            nzb.meta.append((typ, (el.text or "").strip()))


def _file(nzb: Nzb, el: Element, i: int) -> NzbFile:
    label = f"files[{i}]"
    date_s = (el.get("date") or "").strip()
    date = int(date_s) if date_s.lstrip("-").isdigit() and len(date_s) <= 19 else None
    if date is None:
        nzb.warnings.append(FormatWarning("bad_date", f"{label} has no usable date", (label,)))
    f = NzbFile(poster=el.get("poster") or "", subject=el.get("subject") or "", date=date)
    if f.name is None:
        nzb.warnings.append(FormatWarning("no_filename_in_subject", f"{label}: no quoted file name in the "
                                          "subject", (f"{label}.subject",)))
    for child in el:
        tag = _local(child.tag)
        if tag == "groups":
            for g in child:
                if _local(g.tag) == "group":
                    name = (g.text or "").strip()
                    if name:
                        f.groups.append(name)
                    else:
                        nzb.warnings.append(FormatWarning("empty_group", f"{label} has an empty <group>",
                                                          (label,)))
        elif tag == "segments":
            for s in child:
                if _local(s.tag) == "segment":
                    seg = _segment(nzb, s, label)
                    if seg is not None:
                        f.segments.append(seg)
    if not f.groups:
        nzb.warnings.append(FormatWarning("no_groups", f"{label} names no newsgroup", (label,)))
    if not f.segments:
        nzb.warnings.append(FormatWarning("file_without_segments", f"{label} has no usable segment", (label,)))
    return f


def _segment(nzb: Nzb, s: Element, label: str) -> Segment | None:
    mid = _norm_id(s.text or "")
    if not mid:
        nzb.warnings.append(FormatWarning("empty_message_id", f"{label} has a segment without a message-id",
                                          (label,)))
        return None
    number = _int_attr(s.get("number"))
    size = _int_attr(s.get("bytes"))
    if number is None or size is None:
        nzb.warnings.append(FormatWarning("bad_segment", f"{label} has a segment without a valid number or "
                                          "byte count", (label,)))
    return Segment(number=number, bytes=size, message_id=mid)


def _int_attr(v: str | None) -> int | None:
    v = (v or "").strip()
    return int(v) if v.isdigit() and len(v) <= 18 else None
