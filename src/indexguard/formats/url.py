"""URL canonicalization as Google Safe Browsing (v4 "URLs and Hashing") specifies it.

The procedure predates today's URL standards and is deliberately lenient: escapes are allowed in
the host, a missing scheme means http, and odd hosts are kept (escaped) rather than refused. We
follow it so that lists prepared for Safe Browsing-style matching (IWF, hotlines) line up with
our lookups. Work happens on bytes, so a URL given as bytes that is not valid UTF-8 still
canonicalizes the way the reference vectors expect.

Two deliberate choices, both documented in docs/urls-and-deny-set.md:
- every port is dropped from the canonical form, as Safe Browsing does (the port is kept on the
  result for information), so a listed URL also matches on other ports;
- the lookup key (`CanonicalUrl.key`) leaves out the scheme, as Safe Browsing expressions do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna

from indexguard.errors import LimitExceeded, ParseError

MAX_URL_BYTES = 8192
# Each unescaping pass shortens the text, so this bound is never reached by a real URL: it only
# caps the work on hostile input.
_MAX_UNESCAPE_PASSES = 1024
_MAX_IDN_LABEL = 63
# Safe Browsing lookup limits (v4): the full host plus up to 4 suffixes taken from the last 5
# labels; the exact path (with and without query) plus up to 4 prefixes from the root.
SB_HOST_LABELS = 5
SB_PATH_PREFIXES = 4

_ESCAPED = re.compile(rb"%([0-9a-fA-F]{2})")
_UNSAFE = re.compile(rb"[\x00-\x20\x7f-\xff#%]")
_PORT_AFTER_COLON = re.compile(rb"\d+(?:/|$)")
_PORT_AT_END = re.compile(rb":(\d+)$")
_DOTS = re.compile(rb"\.{2,}")
_POSSIBLE_IP = re.compile(rb"(?i)(?:0x[0-9a-f]+|[0-9.])+")
_IP_THEN_SPACE = re.compile(rb"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) ")
_SCHEME_FIRST = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SCHEME_REST = frozenset(b"0123456789+-.") | _SCHEME_FIRST
_URL_DELIMITERS = "/?#@:%\\[]"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


class UrlError(ParseError):
    """A string that cannot be read as a URL. The message never repeats the URL: list URLs are
    confidential, and an input URL may be abusive itself."""

    def __init__(self, reason: str) -> None:
        super().__init__("url", reason)


class UrlTooLong(UrlError, LimitExceeded):
    """A URL beyond MAX_URL_BYTES."""


@dataclass(frozen=True, slots=True)
class CanonicalUrl:
    """A canonical URL in parts. `host`, `path` and `query` are ASCII, escaped once."""

    scheme: str
    host: str
    path: str
    query: str | None
    port: int | None = None

    @property
    def url(self) -> str:
        """The Safe Browsing canonical URL: scheme://host/path[?query], no port, no fragment."""
        q = "" if self.query is None else "?" + self.query
        return f"{self.scheme}://{self.host}{self.path}{q}"

    @property
    def key(self) -> str:
        """The exact-match key: the longest Safe Browsing expression (host/path?query, no scheme;
        an empty query is left out, as the expressions leave it out)."""
        return self.host + self.path + ("?" + self.query if self.query else "")

    @property
    def is_ip(self) -> bool:
        return self.host.startswith("[") or parse_ipv4(self.host) == self.host

    def __str__(self) -> str:
        return self.url


def canonicalize(url: str | bytes) -> CanonicalUrl:
    """Canonicalize one URL; raises UrlError (never anything else) when it cannot be read."""
    raw = _to_bytes(url)
    if len(raw) > MAX_URL_BYTES:
        raise UrlTooLong(f"URL is {len(raw)} bytes, the limit is {MAX_URL_BYTES}")
    text = raw.split(b"#", 1)[0].strip(b" \t\r\n\x0b\x0c")
    text = text.replace(b"\t", b"").replace(b"\r", b"").replace(b"\n", b"")
    text = _escape(_unescape_fully(text))
    scheme, rest = _split_scheme(text)
    rest, sep, query = rest.partition(b"?")
    if scheme is None:
        scheme = "http"
    elif rest.startswith(b"//"):
        rest = rest[2:]
    else:
        raise UrlError("a scheme must be followed by '//' and a host")
    slash = rest.find(b"/")
    hostish, path = (rest, b"") if slash < 0 else (rest[:slash], rest[slash:])
    host, port = _canonical_host(hostish)
    if port is not None and port == _DEFAULT_PORTS.get(scheme):
        port = None
    return CanonicalUrl(
        scheme=scheme,
        host=host,
        path=_canonical_path(path).decode("ascii"),
        query=query.decode("ascii") if sep else None,
        port=port,
    )


def canonical_url(url: str | bytes) -> str:
    """The canonical URL string (see CanonicalUrl.url)."""
    return canonicalize(url).url


def lookup_hosts(c: CanonicalUrl) -> list[str]:
    """Safe Browsing host expressions: the host, then up to 4 suffixes of its last 5 labels (the
    top-level label alone is never one). An IP address gives only itself."""
    if c.is_ip:
        return [c.host]
    labels = c.host.split(".")
    hosts = [c.host]
    for i in range(max(1, len(labels) - SB_HOST_LABELS), len(labels) - 1):
        hosts.append(".".join(labels[i:]))
    return hosts


def lookup_paths(c: CanonicalUrl) -> list[str]:
    """Safe Browsing path expressions: exact path with query, exact path, and the root plus up to
    3 more directory prefixes (4 prefixes in all)."""
    segments = [s for s in c.path.split("/") if s]
    paths: list[str] = []
    if c.query:
        paths.append(f"{c.path}?{c.query}")
    paths.append(c.path)
    for i in range(min(len(segments), SB_PATH_PREFIXES)):
        prefix = "/" + "".join(s + "/" for s in segments[:i])
        if prefix not in paths:
            paths.append(prefix)
    return paths


def lookup_expressions(url: str | bytes | CanonicalUrl) -> list[str]:
    """All Safe Browsing host-suffix / path-prefix expressions for a URL (at most 30)."""
    c = url if isinstance(url, CanonicalUrl) else canonicalize(url)
    return [h + p for h in lookup_hosts(c) for p in lookup_paths(c)]


def parse_ipv4(host: str) -> str | None:
    """The dotted quad for a host that legacy resolvers read as IPv4 (decimal, octal or hex parts,
    1 to 4 of them), else None. `10.1.2.3 junk` (15 bytes or fewer) reads as 10.1.2.3, as the
    Windows resolver does."""
    got = _parse_ipv4(host.encode("utf-8", "surrogatepass"))
    return None if got is None else got.decode("ascii")


def _to_bytes(url: str | bytes) -> bytes:
    if isinstance(url, bytes):
        return url
    if not isinstance(url, str):
        raise UrlError(f"a URL must be text, not {type(url).__name__}")
    if len(url) > MAX_URL_BYTES:
        raise UrlTooLong(f"URL is {len(url)} characters, the limit is {MAX_URL_BYTES} bytes")
    return url.encode("utf-8", "surrogatepass")


def _unescape_once(s: bytes) -> bytes:
    return _ESCAPED.sub(_unhex, s) if b"%" in s else s


def _unhex(m: re.Match[bytes]) -> bytes:
    return bytes((int(m.group(1), 16),))


def _unescape_fully(s: bytes) -> bytes:
    for _ in range(_MAX_UNESCAPE_PASSES):
        t = _unescape_once(s)
        if t == s:
            return s
        s = t
    raise UrlError("percent-escapes nest too deeply")


def _escape(s: bytes) -> bytes:
    return _UNSAFE.sub(_hex, s)


def _hex(m: re.Match[bytes]) -> bytes:
    return b"%%%02x" % m.group(0)[0]


def _split_scheme(s: bytes) -> tuple[str | None, bytes]:
    """(scheme, rest) when the text starts with `scheme:` that is not `host:port`."""
    for i, c in enumerate(s):
        if c == 0x3A:  # ':'
            if _PORT_AFTER_COLON.match(s, i + 1):
                return None, s
            if i == 0:  # an empty scheme: the reference client drops the ':'
                return None, s[1:]
            return s[:i].decode("ascii").lower(), s[i + 1 :]
        if c not in (_SCHEME_FIRST if i == 0 else _SCHEME_REST):
            return None, s
    return None, s


def _canonical_host(hostish: bytes) -> tuple[str, int | None]:
    host = hostish.rpartition(b"@")[2]
    m = _PORT_AT_END.search(host)
    port = int(m.group(1)) if m and len(m.group(1)) <= 5 else None
    host = _trim_host(_idn_to_ascii(_trim_host(host)))
    if not host:
        raise UrlError("the URL has no host")
    if host.startswith(b"[") and b"]" not in host:
        raise UrlError("an IPv6 host is missing its closing ']'")
    ip = _parse_ipv4(host)
    return (ip if ip is not None else host.lower()).decode("ascii"), port


def _trim_host(host: bytes) -> bytes:
    """Drop ports and stray dots until neither is left: `a.:1` and `a:1.` must both become `a`,
    or the result would change when canonicalized again."""
    while True:
        trimmed = _DOTS.sub(b".", _PORT_AT_END.sub(b"", host)).strip(b".")
        if trimmed == host:
            return host
        host = trimmed


def _idn_to_ascii(host: bytes) -> bytes:
    """Punycode for a host with non-ASCII characters. As in the reference implementation, a lone
    0x80 byte is not taken as Unicode (legacy); such hosts stay percent-escaped."""
    plain = _unescape_once(host)
    if plain.isascii() or not any(c > 0x80 for c in plain):
        return host
    try:
        text = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise UrlError("the host has bytes that are neither ASCII nor UTF-8") from None
    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError as e:
        raise UrlError(f"the host is not a valid internationalized domain name ({e})") from None
    # A full-width '/' or '%' maps to its ASCII twin; letting it through would make the result
    # parse differently the next time (canonicalization must be idempotent).
    if any(mapped.count(ch) > text.count(ch) for ch in _URL_DELIMITERS):
        raise UrlError("the host maps to URL delimiters under IDNA")
    text = mapped
    labels = []
    for n, label in enumerate(text.split("."), start=1):
        if label.isascii():
            labels.append(label.encode("ascii"))
            continue
        if len(label) > _MAX_IDN_LABEL:
            raise UrlError(f"IDN label {n} of the host is longer than {_MAX_IDN_LABEL} characters")
        try:
            labels.append(idna.alabel(label))
        except (idna.IDNAError, UnicodeError) as e:
            raise UrlError(f"IDN label {n} of the host is not valid ({e})") from None
    out = _escape(b".".join(labels))
    # Mapping can also join '%' to hex digits (an ignored character between them vanishes).
    if _escape(_unescape_fully(out)) != out:
        raise UrlError("the host maps to percent-escapes under IDNA")
    return out


def _parse_ipv4(host: bytes) -> bytes | None:
    if len(host) <= 15:
        m = _IP_THEN_SPACE.match(host)
        if m:
            host = m.group(1)
    if not _POSSIBLE_IP.fullmatch(host):
        return None
    parts = host.split(b".")
    if len(parts) > 4:
        return None
    out: list[int] = []
    for i, part in enumerate(parts):
        width = 5 - len(parts) if i == len(parts) - 1 else 1
        value = _ip_number(part)
        if value is None:
            return None
        out += [(value >> (8 * k)) & 0xFF for k in reversed(range(width))]
    return b".".join(b"%d" % v for v in out)


def _ip_number(part: bytes) -> int | None:
    """One dotted part in C `inet_aton` notation: 0x hex, leading-zero octal, else decimal."""
    try:
        if part[:2].lower() == b"0x":
            value = int(part[2:], 16)
        elif part.startswith(b"0") and len(part) > 1:
            value = int(part[1:], 8)
        else:
            value = int(part, 10)
    except ValueError:
        return None
    return value if 0 <= value <= 0xFFFFFFFF else None


def _canonical_path(path: bytes) -> bytes:
    """Resolve `.` and `..`, collapse `//`; keep a trailing slash the input had."""
    kept: list[bytes] = []
    for seg in path.split(b"/"):
        if seg in (b"", b"."):
            continue
        if seg == b"..":
            if kept:
                kept.pop()
            continue
        kept.append(seg)
    out = b"/" + b"/".join(kept)
    if path.endswith(b"/") and not out.endswith(b"/"):
        out += b"/"
    return out
