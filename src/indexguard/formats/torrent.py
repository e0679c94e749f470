"""Torrent metadata (BEP 3 v1, BEP 52 v2 and hybrid) parsed for screening.

Everything a person can read is kept: every `name`, `name.utf-8`, file path and `path.utf-8`
(pad files included), symlink targets, comment, creator, source, publisher, tracker and web-seed
URLs, and any string under a key we do not know. Each string keeps its raw bytes and every
plausible decoding (formats.charsets). Infohashes are hashes of the raw `info` span.

`parse_torrent(data)` raises on anything libtorrent would refuse to load (`strict=True`, the
default); `parse_torrent(data, strict=False)` returns those torrents with `Torrent.errors` filled
instead, so a screener can still screen their text while holding them for review.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from indexguard.formats.bencode import (
    DEFAULT_LIMITS,
    BDict,
    BValue,
    Decoded,
    Limits,
    decode,
    dict_get,
    dict_get_all,
    dict_items,
    is_dict,
    lenient_decode,
)
from indexguard.formats.charsets import decode_text
from indexguard.formats.errors import FormatError, FormatLimitExceeded
from indexguard.formats.fields import FormatWarning, Text, emit, emit_path, unique

TorrentWarning = FormatWarning

KIND = "torrent"
V2_MIN_PIECE = 16 * 1024
_NONCANONICAL = frozenset({"noncanonical_integer", "noncanonical_length"})
_LIMIT_CODES = frozenset({"too_many_pieces", "too_deep", "time_budget"})
# Keys whose values are binary (hashes) and never text.
_BINARY_KEYS = frozenset(
    {b"pieces", b"pieces root", b"piece layers", b"sha1", b"sha256", b"md5sum", b"ed2k", b"tiger",
     b"similar", b"signatures", b"filehash", b"root hash"}
)
# Keys the structured parser reads at each level; strings under any other key are "extras".
_ROOT_KEYS = frozenset(
    {b"announce", b"announce-list", b"comment", b"comment.utf-8", b"created by", b"created by.utf-8",
     b"creation date", b"encoding", b"info", b"url-list", b"httpseeds", b"publisher", b"publisher.utf-8",
     b"publisher-url", b"publisher-url.utf-8", b"source"}
)
_INFO_KEYS = frozenset(
    {b"name", b"name.utf-8", b"piece length", b"files", b"length", b"file tree", b"meta version",
     b"private", b"source", b"attr", b"symlink path", b"collections", b"publisher", b"publisher.utf-8",
     b"publisher-url", b"publisher-url.utf-8"}
)
_FILE_KEYS = frozenset({b"length", b"path", b"path.utf-8", b"attr", b"symlink path"})

_TEXT = attrgetter("text")
_VARIANTS = attrgetter("variants")


@dataclass(slots=True)
class TorrentFile:
    path: list[Text]
    length: int
    source: str  # "v1" (info.files / single file) or "v2" (file tree)
    path_utf8: list[Text] | None = None
    attr: str = ""
    symlink: list[Text] | None = None
    sha1: str | None = None
    pieces_root: str | None = None

    @property
    def pad(self) -> bool:
        """BEP 47 `attr` p, or BitComet's older `_____padding_file_` naming."""
        return "p" in self.attr or bool(self.path and self.path[-1].raw.startswith(b"_____padding_file_"))

    def path_text(self) -> str:
        return "/".join(t.text for t in self.path)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path_text(), "length": self.length}
        if any(t.charset != "utf-8" or t.variants for t in self.path):
            out["path_elements"] = [t.to_json() for t in self.path]
        if self.path_utf8 is not None:
            out["path.utf-8"] = "/".join(t.text for t in self.path_utf8)
        if self.attr:
            out["attr"] = self.attr
        if self.pad:
            out["pad"] = True
        if self.symlink is not None:
            out["symlink"] = "/".join(t.text for t in self.symlink)
        if self.sha1:
            out["sha1"] = self.sha1
        if self.pieces_root:
            out["pieces_root"] = self.pieces_root
        return out


@dataclass(slots=True)
class Torrent:
    raw: bytes
    infohash_v1: str | None = None
    infohash_v2: str | None = None
    meta_version: int = 1
    names: list[tuple[str, Text]] = field(default_factory=list)
    files: list[TorrentFile] = field(default_factory=list)
    tree_files: list[TorrentFile] = field(default_factory=list)
    single_file: bool = False
    piece_length: int | None = None
    num_pieces: int = 0
    total_size: int = 0
    private: bool = False
    creation_date: int | None = None
    encoding: str | None = None
    strings: list[tuple[str, Text]] = field(default_factory=list)
    trackers: list[Text] = field(default_factory=list)
    tracker_tiers: list[list[str]] = field(default_factory=list)
    web_seeds: list[Text] = field(default_factory=list)
    http_seeds: list[Text] = field(default_factory=list)
    extras: list[tuple[str, Text]] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    bencode_strict: bool = True
    warnings: list[TorrentWarning] = field(default_factory=list)
    errors: list[TorrentWarning] = field(default_factory=list)

    @property
    def infohash_v2_trunc(self) -> str | None:
        """The first 20 bytes of the v2 infohash: what trackers and the DHT see for v2 swarms."""
        return self.infohash_v2[:40] if self.infohash_v2 else None

    @property
    def name(self) -> str:
        """The display name: `name.utf-8` when present (as clients do), else the first `name`."""
        for label, t in self.names:
            if label.startswith("name.utf-8"):
                return t.text
        return self.names[0][1].text if self.names else ""

    def text_fields(self) -> list[tuple[str, str]]:
        """(field path, text) for every human-readable string, every decoded variant included."""
        out: list[tuple[str, str]] = []
        for label, t in self.names:
            emit(out, label, t)
        for prefix, files in (("files", self.files), ("v2_tree", self.tree_files)):
            if prefix == "files" and self.single_file:
                continue  # a single-file torrent's path is its name, already emitted
            for i, f in enumerate(files):
                path = f.path
                if f.path_utf8 is None and f.symlink is None and not any(map(_VARIANTS, path)):
                    out.append((f"{prefix}[{i}].path", "/".join(map(_TEXT, path))))  # emit_path, inlined
                    continue
                emit_path(out, f"{prefix}[{i}].path", path)
                if f.path_utf8 is not None:
                    emit_path(out, f"{prefix}[{i}].path.utf-8", f.path_utf8)
                if f.symlink is not None:
                    emit_path(out, f"{prefix}[{i}].symlink", f.symlink)
        for label, t in self.strings:
            emit(out, label, t)
        for prefix, urls in (("trackers", self.trackers), ("web_seeds", self.web_seeds),
                             ("http_seeds", self.http_seeds)):
            for i, t in enumerate(urls):
                emit(out, f"{prefix}[{i}]", t)
        for label, t in self.extras:
            emit(out, label, t)
        return out

    def identities(self) -> dict[str, list[str]]:
        """Lowercase hex identities for exact hash lists and the deny set."""
        files = self.files + self.tree_files
        return {
            "infohash_v1": [self.infohash_v1] if self.infohash_v1 else [],
            "infohash_v2": [self.infohash_v2] if self.infohash_v2 else [],
            "infohash_v2_trunc": [self.infohash_v2[:40]] if self.infohash_v2 else [],
            "bep47_sha1": unique(f.sha1 for f in files if f.sha1),
            "pieces_root": unique(f.pieces_root for f in files if f.pieces_root),
        }

    def urls(self) -> list[str]:
        """Tracker, web-seed and HTTP-seed URLs and publisher URLs, in file order, de-duplicated."""
        pub = [t.text for label, t in self.strings if label.startswith("publisher-url")]
        return unique([t.text.strip() for t in self.trackers + self.web_seeds + self.http_seeds] + pub)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "torrent",
            "infohash_v1": self.infohash_v1,
            "infohash_v2": self.infohash_v2,
            "infohash_v2_trunc": self.infohash_v2_trunc,
            "meta_version": self.meta_version,
            "name": self.name,
            "names": [{"field": label, **t.to_json()} for label, t in self.names],
            "piece_length": self.piece_length,
            "num_pieces": self.num_pieces,
            "total_size": self.total_size,
            "private": self.private,
            "creation_date": self.creation_date,
            "encoding": self.encoding,
            "files": [f.to_json() for f in self.files],
            "v2_tree": [f.to_json() for f in self.tree_files],
            "strings": [{"field": label, **t.to_json()} for label, t in self.strings],
            "trackers": self.tracker_tiers,
            "web_seeds": [t.text for t in self.web_seeds],
            "http_seeds": [t.text for t in self.http_seeds],
            "extras": [{"field": label, **t.to_json()} for label, t in self.extras],
            "charsets": self.charsets,
            "identities": self.identities(),
            "bencode": "strict" if self.bencode_strict else "lenient",
            "warnings": [w.to_json() for w in self.warnings],
            "errors": [e.to_json() for e in self.errors],
        }


def parse_torrent(data: bytes, *, strict: bool = True, limits: Limits = DEFAULT_LIMITS) -> Torrent:
    """Parse a .torrent. Raises FormatError / FormatLimitExceeded (ParseError / LimitExceeded)."""
    decoded = decode(data, limits)
    span = decoded.value_span(b"info")
    if decoded.strict and span is None and is_dict(dict_get(decoded.root, b"info")):
        # the strict span could not be verified byte for byte: take it from the tokenizer instead
        root_l, warnings = lenient_decode(data, limits)
        decoded = Decoded(root=root_l, data=data, strict=False, warnings=warnings)
        span = decoded.value_span(b"info")
    root = decoded.root
    if not is_dict(root):
        raise FormatError(KIND, "not_a_dict", "the file is bencode but not a dictionary", 0)
    info = dict_get(root, b"info")
    if info is None or not is_dict(info):
        raise FormatError(KIND, "missing_info", "no 'info' dictionary")
    builder = _Builder(data, root, info, limits, decoded.strict)
    for w in decoded.warnings:
        builder.warn(w.code, f"bencode: {w.message} (byte {w.offset})")
        if w.code in _NONCANONICAL:  # clients disagree on such numbers: the infohash is ambiguous
            builder.error("invalid_bencoding", f"bencode: {w.message} (byte {w.offset})")
    builder.hashes(span)
    t = builder.build()
    if strict and t.errors:
        e = t.errors[0]
        cls = FormatLimitExceeded if e.code in _LIMIT_CODES else FormatError
        raise cls(KIND, e.code, e.message)
    return t


class _Builder:
    """One parse: reads the decoded tree into a Torrent, collecting warnings and errors."""

    def __init__(self, data: bytes, root: BValue, info: BValue, limits: Limits, strict_bencode: bool) -> None:
        self.root = root
        self.info = info
        self.limits = limits
        self.deadline = time.monotonic() + limits.time_budget
        self.t = Torrent(raw=data, bencode_strict=strict_bencode)
        enc = dict_get(root, b"encoding")
        self.encoding = enc.decode("ascii", "replace").strip() if isinstance(enc, bytes) else None
        self.t.encoding = self.encoding
        self._charset_fields: dict[str, list[str]] = {}
        # info.files when every entry held nothing but `length` and an ASCII `path`: extras skips it
        self._plain_files: list[BValue] | None = None

    def warn(self, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        self.t.warnings.append(TorrentWarning(code, message, fields))

    def error(self, code: str, message: str, fields: tuple[str, ...] = ()) -> None:
        self.t.errors.append(TorrentWarning(code, message, fields))

    def text(self, raw: bytes, label: str) -> Text:
        if raw.isascii():
            return Text(raw, raw.decode("ascii"), "utf-8")
        decs = decode_text(raw, self.encoding)
        best = decs[0]
        if best.charset != "utf-8":
            self._charset_fields.setdefault(best.charset, []).append(label)
        return Text(raw, best.text, best.charset, tuple(decs[1:]))

    def hashes(self, span: tuple[int, int] | None) -> None:
        if span is None:
            raise FormatError(KIND, "missing_info", "could not locate the raw 'info' span")
        raw_info = self.t.raw[span[0] : span[1]]
        self.t.meta_version = _int(dict_get(self.info, b"meta version")) or 1
        has_v2 = self.t.meta_version == 2 and is_dict(dict_get(self.info, b"file tree"))
        has_v1 = dict_get(self.info, b"pieces") is not None or not has_v2
        if has_v1:
            self.t.infohash_v1 = hashlib.sha1(raw_info).hexdigest()
        if has_v2:
            self.t.infohash_v2 = hashlib.sha256(raw_info).hexdigest()
        if len(dict_get_all(self.root, b"info")) > 1:
            self.warn("duplicate_info", "the file has more than one 'info' dictionary; the first is hashed, "
                      "the others are screened as extras", ("info#2",))

    def build(self) -> Torrent:
        t = self.t
        self.names()
        self.piece_length()
        t.private = _int(dict_get(self.info, b"private")) == 1
        t.creation_date = _int(dict_get(self.root, b"creation date"))
        if t.infohash_v2:
            self.tree()
        self.v1_files()
        if t.infohash_v1 and t.infohash_v2:
            self.compare_hybrid()
        self.pieces()
        if t.infohash_v2:
            self.piece_layers()
        self.strings()
        self.trackers()
        self.extras()
        for cs, labels in self._charset_fields.items():
            t.charsets.append(cs)
            msg = f"{len(labels)} string(s) are not UTF-8; decoded as {cs}"
            self.warn("legacy_charset", msg, tuple(labels))
        return t

    # -- names -------------------------------------------------------------------------------
    def names(self) -> None:
        t = self.t
        for key in (b"name", b"name.utf-8"):
            for i, v in enumerate(dict_get_all(self.info, key)):
                label = key.decode() + (f"#{i + 1}" if i else "")
                if isinstance(v, bytes):
                    t.names.append((label, self.text(v, label)))
                else:
                    self.warn("bad_name_type", f"'{label}' is not a string", (label,))
        plain = {x.text for label, x in t.names if label.startswith("name") and "utf-8" not in label}
        utf8 = {x.text for label, x in t.names if "utf-8" in label}
        if len(plain) > 1:
            self.warn("duplicate_name", "the info dictionary has several different 'name' values",
                      tuple(label for label, _ in t.names if "utf-8" not in label))
        if utf8 and plain and utf8 != plain:
            self.warn("name_utf8_mismatch", "'name' and 'name.utf-8' differ",
                      tuple(label for label, _ in t.names))
        if not t.names:
            self.error("missing_name", "the info dictionary has no string 'name'")

    def piece_length(self) -> None:
        pl = dict_get(self.info, b"piece length")
        if not isinstance(pl, int) or pl <= 0:
            self.error("missing_piece_length", "'piece length' is missing or not a positive integer")
            return
        self.t.piece_length = pl
        if self.t.infohash_v2 and (pl < V2_MIN_PIECE or pl & (pl - 1)):
            self.error("missing_piece_length", "a v2 'piece length' must be a power of two, at least 16 KiB")

    # -- v1 files ----------------------------------------------------------------------------
    def v1_files(self) -> None:
        t = self.t
        files_v = dict_get(self.info, b"files")
        if files_v is not None:
            if not isinstance(files_v, list):
                self.error("invalid_name", "'files' is not a list")
                return
            plain = True
            for i, entry in enumerate(files_v):
                if not i & 1023:
                    self._check_time()
                f = _v1_plain(entry) if type(entry) is dict else None
                if f is None:
                    plain = False
                    f = self.v1_file(i, entry)
                if f is not None:
                    t.files.append(f)
            if plain:
                self._plain_files = files_v
            if not files_v and not t.tree_files:
                self.error("no_files", "'files' is empty")
        elif dict_get(self.info, b"length") is not None or not t.infohash_v2:
            length = dict_get(self.info, b"length")
            if not isinstance(length, int) or length < 0:
                self.error("invalid_length", "single-file 'length' is missing or negative")
                length = 0
            name = [x for label, x in t.names if label == "name.utf-8"] or [x for _, x in t.names][:1]
            t.single_file = True
            t.files.append(TorrentFile(path=name[:1], length=length, source="v1",
                                       attr=_attr(dict_get(self.info, b"attr")),
                                       sha1=_sha1(dict_get(self.info, b"sha1"))))
        if t.files or not t.tree_files:
            t.total_size = sum(f.length for f in t.files)
        if t.infohash_v1 and t.files and t.total_size == 0:
            self.error("invalid_length", "the torrent's total size is zero")

    def v1_file(self, i: int, entry: BValue) -> TorrentFile | None:
        label = f"files[{i}]"
        if not is_dict(entry):
            self.error("invalid_name", f"{label} is not a dictionary")
            return None
        attr = _attr(dict_get(entry, b"attr"))
        length = dict_get(entry, b"length")
        if length is None and "l" in attr:
            length = 0  # a symlink has no content of its own
        if not isinstance(length, int) or length < 0:
            self.error("invalid_length", f"{label} has a missing, negative or non-integer 'length'", (label,))
            length = 0
        path = self.path_list(dict_get(entry, b"path"), f"{label}.path", required="p" not in attr)
        path_utf8 = None
        if dict_get(entry, b"path.utf-8") is not None:
            path_utf8 = self.path_list(dict_get(entry, b"path.utf-8"), f"{label}.path.utf-8", required=False)
            if path_utf8 is not None and path is not None and [x.text for x in path_utf8] != [
                x.text for x in path
            ]:
                self.warn("path_utf8_mismatch", f"{label}: 'path' and 'path.utf-8' differ",
                          (f"{label}.path", f"{label}.path.utf-8"))
        symlink = None
        if "l" in attr:
            symlink = self.path_list(dict_get(entry, b"symlink path"), f"{label}.symlink", required=True)
        for key in (b"path", b"path.utf-8", b"length") if isinstance(entry, BDict) else ():
            if len(dict_get_all(entry, key)) > 1:
                self.warn("duplicate_key", f"{label} repeats '{key.decode()}'; the others are screened "
                          "as extras", (label,))
        return TorrentFile(path=path or [], length=length, source="v1", path_utf8=path_utf8, attr=attr,
                           symlink=symlink, sha1=_sha1(dict_get(entry, b"sha1")))

    def path_list(self, v: BValue | None, label: str, required: bool) -> list[Text] | None:
        if v is None:
            if required:
                self.error("missing_name", f"{label} is missing", (label,))
            return None
        if not isinstance(v, list):
            self.error("invalid_name", f"{label} is not a list", (label,))
            return None
        parts: list[Text] = []
        for el in v:
            if not isinstance(el, bytes):
                self.error("invalid_name", f"{label} has an element that is not a string", (label,))
                continue
            parts.append(self.text(el, label))
        return parts

    def pieces(self) -> None:
        t = self.t
        pl = t.piece_length
        if pl and t.infohash_v1:
            t.num_pieces = -(-t.total_size // pl)
        elif pl:
            t.num_pieces = sum(-(-f.length // pl) for f in t.tree_files if not f.pad)
        if t.num_pieces > self.limits.max_pieces:
            self.error("too_many_pieces", f"{t.num_pieces} pieces is over the {self.limits.max_pieces} limit")
            return
        if not t.infohash_v1:
            return
        pieces = dict_get(self.info, b"pieces")
        if not isinstance(pieces, bytes):
            self.error("missing_pieces", "'pieces' is missing or not a string")
        elif len(pieces) % 20:
            self.error("invalid_hashes", "'pieces' length is not a multiple of 20")
        elif pl and len(pieces) // 20 != t.num_pieces:
            got = len(pieces) // 20
            self.error("invalid_hashes", f"'pieces' holds {got} hashes for {t.num_pieces} pieces")

    # -- v2 file tree ------------------------------------------------------------------------
    def tree(self) -> None:
        tree = dict_get(self.info, b"file tree")
        if tree is None:
            return
        stack: list[tuple[BValue, list[Text], int]] = [(tree, [], 0)]
        out: list[TorrentFile] = []
        while stack:
            node, prefix, depth = stack.pop()
            self._check_time()
            if depth > self.limits.max_depth:
                self.error("too_deep", f"file tree deeper than {self.limits.max_depth}")
                return
            if isinstance(node, BDict) and node.unsorted:
                self.error("invalid_bencoding", "file tree keys are not sorted",
                           (f"v2_tree[{len(out)}]",))
            children = []
            for key, child in dict_items(node):
                label = f"v2_tree[{len(out)}]"
                if not is_dict(child):
                    self.error("file_parse_failed", "a file tree entry is not a dictionary", (label,))
                    continue
                path = [*prefix, self.text(key, label + ".path")] if key else prefix
                props = dict_get(child, b"")
                if key and props is not None:
                    f = self.tree_file(props, path, label)
                    if f is not None:
                        out.append(f)
                elif not key:
                    self.error("file_parse_failed", "a file tree entry with an empty name", (label,))
                    if props is None:
                        children.append((child, path, depth + 1))
                else:
                    children.append((child, path, depth + 1))
            stack.extend(reversed(children))
        self.t.tree_files = out
        if not out:
            self.error("no_files", "the v2 file tree has no files")
        if self.t.infohash_v2 and not self.t.infohash_v1:
            self.t.total_size = sum(f.length for f in out)

    def tree_file(self, props: BValue, path: list[Text], label: str) -> TorrentFile | None:
        if not is_dict(props):
            self.error("file_parse_failed", f"{label}: file properties are not a dictionary", (label,))
            return None
        length = dict_get(props, b"length")
        if not isinstance(length, int) or length < 0:
            self.error("invalid_length", f"{label} has a missing or negative 'length'", (label,))
            length = 0
        attr = _attr(dict_get(props, b"attr"))
        root = dict_get(props, b"pieces root")
        root_hex = None
        if isinstance(root, bytes) and len(root) == 32:
            root_hex = root.hex()
        if "p" in attr and root is not None:
            self.error("invalid_pad_file", f"{label}: a pad file has a 'pieces root'", (label,))
        elif length > 0 and "l" not in attr and (root_hex is None or root == bytes(32)):
            self.error("missing_pieces_root", f"{label} has no valid 'pieces root'", (label,))
        symlink = None
        if "l" in attr:
            symlink = self.path_list(dict_get(props, b"symlink path"), f"{label}.symlink", required=True)
        return TorrentFile(path=path, length=length, source="v2", attr=attr, symlink=symlink,
                           pieces_root=root_hex if root != bytes(32) else None)

    def compare_hybrid(self) -> None:
        t = self.t
        v1 = [(tuple(x.text for x in f.path), f.length) for f in t.files if not f.pad]
        v2 = [(tuple(x.text for x in f.path), f.length) for f in t.tree_files if not f.pad]
        if v1 != v2:
            self.warn("v1_v2_mismatch", "the v1 file list and the v2 file tree describe different files",
                      ("files", "v2_tree"))
            self.error("inconsistent_files", "hybrid torrent: v1 files and v2 file tree differ")
            return
        if t.piece_length and not t.single_file:
            offset = 0
            for i, f in enumerate(t.files):
                if f.length and not f.pad and offset % t.piece_length and i:
                    self.error("inconsistent_files", f"hybrid torrent: files[{i}] does not start on a piece "
                               "boundary")
                    return
                offset += f.length

    def piece_layers(self) -> None:
        t = self.t
        pl = t.piece_length
        if not pl or any(e.code == "missing_piece_length" for e in t.errors):
            return
        layers = dict_get(self.root, b"piece layers")
        for i, f in enumerate(t.tree_files):
            if f.length <= pl or f.pad or not f.pieces_root:
                continue
            layer = dict_get(layers, bytes.fromhex(f.pieces_root)) if layers is not None else None
            if not isinstance(layer, bytes) or len(layer) % 32:
                self.error("missing_piece_layer", f"v2_tree[{i}] has no valid piece layer")
                return
            if len(layer) // 32 != -(-f.length // pl):
                self.error("invalid_piece_layer", f"v2_tree[{i}]: piece layer has the wrong number of hashes")
                return

    # -- other strings -----------------------------------------------------------------------
    def strings(self) -> None:
        for where, keys in (
            (self.root, (b"comment", b"comment.utf-8", b"created by", b"created by.utf-8", b"source",
                         b"publisher", b"publisher.utf-8", b"publisher-url", b"publisher-url.utf-8")),
            (self.info, (b"source", b"publisher", b"publisher.utf-8", b"publisher-url",
                         b"publisher-url.utf-8")),
        ):
            prefix = "info." if where is self.info else ""
            for key in keys:
                for i, v in enumerate(dict_get_all(where, key)):
                    label = prefix + key.decode() + (f"#{i + 1}" if i else "")
                    if isinstance(v, bytes):
                        self.t.strings.append((label, self.text(v, label)))
        for i, v in enumerate(dict_get_all(self.info, b"collections")):
            for j, c in enumerate(v if isinstance(v, list) else [v]):
                if isinstance(c, bytes):
                    label = f"collections[{j}]" + (f"#{i + 1}" if i else "")
                    self.t.strings.append((label, self.text(c, label)))
        comments = {x.text for label, x in self.t.strings if label.startswith("comment")}
        if len(comments) > 1:
            self.warn("comment_mismatch", "several different comments", ("comment",))

    def trackers(self) -> None:
        t = self.t
        tiers: list[list[str]] = []
        for v in dict_get_all(self.root, b"announce"):
            if isinstance(v, bytes):
                tiers.append([self._url(v, t.trackers, "trackers")])
        for al in dict_get_all(self.root, b"announce-list"):
            for tier in al if isinstance(al, list) else []:
                items = tier if isinstance(tier, list) else [tier]
                urls = [self._url(u, t.trackers, "trackers") for u in items if isinstance(u, bytes)]
                if urls:
                    tiers.append(urls)
        t.tracker_tiers = tiers
        for key, target, prefix in ((b"url-list", t.web_seeds, "web_seeds"), (b"httpseeds", t.http_seeds,
                                                                           "http_seeds")):
            for v in dict_get_all(self.root, key):
                for u in v if isinstance(v, list) else [v]:
                    if isinstance(u, bytes):
                        self._url(u, target, prefix)

    def _url(self, raw: bytes, target: list[Text], prefix: str) -> str:
        t = self.text(raw.strip(), f"{prefix}[{len(target)}]")
        target.append(t)
        return t.text

    def extras(self) -> None:
        """Strings under keys the structured parser does not read, and every string under a second
        occurrence of a key it reads once (a second `info`, a second `files`): nothing is dropped."""
        stack: list[tuple[BValue, str, frozenset[bytes] | None]] = [(self.root, "", _ROOT_KEYS)]
        while stack:
            node, path, known = stack.pop()
            if isinstance(node, bytes):
                self.t.extras.append((f"extra:{path}", self.text(node, f"extra:{path}")))
                continue
            if isinstance(node, list):
                if known is _FILES_MARK and node is self._plain_files:
                    continue
                if known is _FILES_MARK:
                    # the common case, a file entry with nothing beyond what v1_file read, is skipped
                    stack.extend((x, f"{path}[{i}]", _FILE_KEYS) for i, x in enumerate(node)
                                 if type(x) is not dict or not x.keys() <= _FILE_OR_BINARY)
                else:
                    stack.extend((x, f"{path}[{i}]", _list_known(known)) for i, x in enumerate(node))
                continue
            if not is_dict(node):
                continue
            counts: dict[bytes, int] = {}
            for key, v in dict_items(node):
                n = counts[key] = counts.get(key, 0) + 1
                if key in _BINARY_KEYS:
                    continue
                kname = key.decode("utf-8", "replace")
                label = f"{path}.{kname}" if path else kname
                if n > 1:
                    label += f"#{n}"
                if known is not None and key in known and n == 1:
                    if (known is _ROOT_KEYS and key == b"info") or (known is _INFO_KEYS and key == b"files"):
                        stack.append((v, label, _INFO_KEYS if key == b"info" else _FILES_MARK))
                    continue
                if known is not None and key in known and (key.startswith(b"name") or key in _STRING_KEYS):
                    continue  # every value of these is already read by the structured parser
                stack.append((v, label, None))

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise FormatLimitExceeded(KIND, "time_budget", f"parsing took over {self.limits.time_budget}s")


_FILE_OR_BINARY = _FILE_KEYS | _BINARY_KEYS
_FILES_MARK = frozenset({b"\x00files"})  # marks the info.files list: its items are file dicts
_STRING_KEYS = frozenset(
    {b"comment", b"comment.utf-8", b"created by", b"created by.utf-8", b"source", b"publisher",
     b"publisher.utf-8", b"publisher-url", b"publisher-url.utf-8", b"announce", b"announce-list",
     b"url-list", b"httpseeds", b"collections"}
)


def _v1_plain(entry: dict[bytes, BValue]) -> TorrentFile | None:
    """The common v1 file entry read without the general path: exactly `length` (a non-negative
    int) and `path` (a list of ASCII strings). None sends anything else to `_Builder.v1_file`, which
    gives the same result for these entries and also reports what is wrong with the others."""
    if len(entry) != 2:
        return None
    length = entry.get(b"length")
    path = entry.get(b"path")
    if type(length) is not int or length < 0 or type(path) is not list:
        return None
    parts: list[Text] = []
    for el in path:
        if type(el) is not bytes or not el.isascii():
            return None
        parts.append(Text(el, el.decode("ascii"), "utf-8"))
    return TorrentFile(parts, length, "v1")


def _list_known(known: frozenset[bytes] | None) -> frozenset[bytes] | None:
    return None if known is None else frozenset()


def _int(v: BValue | None) -> int | None:
    return v if isinstance(v, int) else None


def _attr(v: BValue | None) -> str:
    return v.decode("ascii", "replace") if isinstance(v, bytes) else ""


def _sha1(v: BValue | None) -> str | None:
    if isinstance(v, bytes) and len(v) == 20:
        return v.hex()
    if isinstance(v, bytes) and len(v) == 40:
        try:
            bytes.fromhex(v.decode("ascii"))
            return v.decode("ascii").lower()
        except ValueError:
            return None
    return None
