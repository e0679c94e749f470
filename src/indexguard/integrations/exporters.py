"""Exporters: the deny set and hash lists in the native formats of enforcement points.

| format      | what                                                                                |
|-------------|-------------------------------------------------------------------------------------|
| opentracker | access list file: one 40-hex info_hash a line, newline-terminated (-DWANT_ACCESSLIST_BLACK) |
| chihaya     | YAML: the `torrent approval` prehook with a `blacklist` of 40-hex infohashes        |
| xbt         | SQL for XBT Tracker: set flag bit 1 (delete) on the torrents' rows, by info_hash    |
| bitmagnet   | classifier.yml: a `string_list` flag of infohashes and a workflow deleting them     |
| nntmux      | SQL rows for NNTmux's `binaryblacklist` (subject regexes built from term lists)     |
| v1          | plain list of v1 infohashes (40 hex)                                                 |
| v2trunc     | plain list of truncated v2 infohashes (the 40-hex form trackers and the DHT see)    |

Trackers see a v2 (or hybrid) swarm by its truncated v2 hash, so every tracker format gets the v1
hashes and the truncated v2 hashes together. Output is sorted and deduplicated, so exports of the
same content are byte-identical. An export is as confidential as the lists it came from.

Each format was checked against the tool's source; docs/integrations.md section 4 names the files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from indexguard.errors import IndexguardError
from indexguard.lists.hash_list import HashBank
from indexguard.lists.terms import TermEntry, TermList
from indexguard.screen.deny_set import DenyRecord

FORMATS: tuple[str, ...] = ("opentracker", "chihaya", "xbt", "bitmagnet", "nntmux", "v1", "v2trunc")
SQL_BATCH = 500
NNTMUX_REGEX_MAX = 2000  # binaryblacklist.regex is varchar(2000); MySQL truncates or refuses longer
NNTMUX_DESCRIPTION_MAX = 1000  # binaryblacklist.description is varchar(1000)
BITMAGNET_FLAG = "indexguard_denied_infohashes"
BITMAGNET_WORKFLOW = "indexguard"


class ExportError(IndexguardError):
    """An export that cannot be written as asked (unknown format, missing input)."""


@dataclass(frozen=True)
class Infohashes:
    v1: tuple[str, ...] = ()
    v2: tuple[str, ...] = ()  # full 64-hex v2 hashes (no tracker format takes them; kept for reports)
    v2trunc: tuple[str, ...] = ()

    def for_trackers(self) -> list[str]:
        """The 20-byte hashes a tracker compares announces against: v1 and truncated v2."""
        return sorted(set(self.v1) | set(self.v2trunc))


@dataclass
class ExportOptions:
    xbt_table: str = "xbt_torrents"  # mysql_table_prefix + "torrents", or xbt_config's table_files
    nntmux_group: str = "alt.binaries.*"  # a MySQL REGEXP matched against group names, not a glob
    terms: Sequence[TermList] = field(default_factory=tuple)


def collect_infohashes(deny: Iterable[DenyRecord] = (), banks: Iterable[HashBank] = ()) -> Infohashes:
    v1: set[str] = set()
    v2: set[str] = set()
    trunc: set[str] = set()
    for rec in deny:
        v1.update(rec.identities.get("infohash_v1", ()))
        v2.update(rec.identities.get("infohash_v2", ()))
        trunc.update(rec.identities.get("infohash_v2_trunc", ()))
    for bank in banks:
        if bank.kind != "normal":
            continue
        for e in bank.entries:
            if not e.enabled:
                continue
            if e.hash_type == "infohash_v1":
                v1.add(e.value)
            elif e.hash_type == "infohash_v2":
                v2.add(e.value)
                trunc.add(e.value[:40])
            elif e.hash_type == "infohash_v2_trunc":
                trunc.add(e.value)
    trunc.update(h[:40] for h in v2)
    return Infohashes(tuple(sorted(v1)), tuple(sorted(v2)), tuple(sorted(trunc)))


def export(fmt: str, hashes: Infohashes, options: ExportOptions | None = None) -> str:
    opts = options or ExportOptions()
    writers = {
        "opentracker": lambda: _lines(hashes.for_trackers()),
        "chihaya": lambda: chihaya_yaml(hashes.for_trackers()),
        "xbt": lambda: xbt_sql(hashes.for_trackers(), opts.xbt_table),
        "bitmagnet": lambda: bitmagnet_yaml(hashes.for_trackers()),
        "nntmux": lambda: nntmux_sql(opts.terms, opts.nntmux_group),
        "v1": lambda: _lines(hashes.v1),
        "v2trunc": lambda: _lines(hashes.v2trunc),
    }
    if fmt not in writers:
        raise ExportError(f"unknown export format {fmt!r}; formats are {', '.join(FORMATS)}")
    return writers[fmt]()


def _lines(values: Iterable[str]) -> str:
    return "".join(v + "\n" for v in values)


def chihaya_yaml(hashes: Sequence[str]) -> str:
    """A chihaya config fragment: merge its `prehooks` entry into your chihaya.yaml. chihaya's
    torrent approval hook refuses a config with both a whitelist and a blacklist."""
    out = [
        f"# indexguard export: {len(hashes)} infohash(es) for chihaya's torrent approval middleware",
        "chihaya:",
        "  prehooks:",
        "    - name: torrent approval",
        "      options:",
    ]
    if not hashes:
        out.append("        blacklist: []")
    else:
        out.append("        blacklist:")
        out += [f'          - "{h}"' for h in hashes]
    return "\n".join(out) + "\n"


def xbt_sql(hashes: Sequence[str], table: str = "xbt_torrents") -> str:
    """Set flag bit 1 on the torrents' rows. XBT Tracker's read_db_torrents (every read_db_interval,
    60 s by default) forgets and deletes rows with `flags & 1`, but only while auto_register is 0
    (its default): with auto_register on the flag is never read."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", table):
        raise ExportError(f"not a plain SQL table name: {table!r}")
    out = [f"-- indexguard export: {len(hashes)} infohash(es) for XBT Tracker (table {table})"]
    for i in range(0, len(hashes), SQL_BATCH):
        batch = ", ".join(f"X'{h}'" for h in hashes[i:i + SQL_BATCH])
        out.append(f"UPDATE {table} SET flags = flags | 1 WHERE info_hash IN ({batch});")
    return "\n".join(out) + "\n"


def bitmagnet_yaml(hashes: Sequence[str]) -> str:
    """A classifier.yml for bitmagnet: a flag listing the denied infohashes and a workflow that
    deletes those torrents before running the default workflow. Select it with
    `classifier.workflow: indexguard` (or CLASSIFIER_WORKFLOW=indexguard)."""
    out = [
        f"# indexguard export: {len(hashes)} infohash(es)",
        '$schema: "https://bitmagnet.io/schemas/classifier-0.1.json"',
        "flag_definitions:",
        f"  {BITMAGNET_FLAG}: string_list",
        "flags:",
    ]
    if hashes:
        out.append(f"  {BITMAGNET_FLAG}:")
        out += [f'    - "{h}"' for h in hashes]
    else:
        out.append(f"  {BITMAGNET_FLAG}: []")
    out += [
        "workflows:",
        f"  {BITMAGNET_WORKFLOW}:",
        "    - if_else:",
        f'        condition: "torrent.infoHash in flags.{BITMAGNET_FLAG}"',
        "        if_action: delete",
        "    - run_workflow: default",
    ]
    return "\n".join(out) + "\n"


def nntmux_sql(term_lists: Sequence[TermList], group: str = "alt.binaries.*") -> str:
    """INSERT rows for NNTmux's binaryblacklist: one subject regex (msgcol 1) per block entry,
    optype 1 (blacklist), status 1 (enabled). The description names list and entry id only; the
    regex necessarily carries the term, so this file is as confidential as the list. A regex or
    description longer than its column is refused: MySQL would truncate it or reject the row."""
    if not term_lists:
        raise ExportError("the nntmux format needs --terms: NNTmux blacklists by subject regex, "
                          "and neither the deny set nor hash lists hold subjects")
    rows = []
    for tl in term_lists:
        if tl.allowlist:
            continue
        for e in tl.entries:
            if e.severity != "block":
                continue
            rows.append((group, _fits(nntmux_regex(e), NNTMUX_REGEX_MAX, tl, e, "regex"),
                         _fits(f"indexguard {tl.name}:{e.id}", NNTMUX_DESCRIPTION_MAX, tl, e, "description")))
    out = [f"-- indexguard export: {len(rows)} binaryblacklist row(s) for NNTmux"]
    for g, rx, desc in rows:
        out.append("INSERT INTO binaryblacklist (groupname, regex, msgcol, optype, status, description) "
                   f"VALUES ({_mysql_str(g)}, {_mysql_str(rx)}, 1, 1, 1, {_mysql_str(desc)});")
    return "\n".join(out) + "\n"


def _fits(value: str, limit: int, tl: TermList, e: TermEntry, column: str) -> str:
    if len(value) > limit:
        raise ExportError(f"{tl.name}:{e.id}: the NNTmux {column} would be {len(value)} characters; "
                          f"binaryblacklist.{column} holds {limit}")
    return value


def nntmux_regex(e: TermEntry) -> str:
    """A PCRE for NNTmux, which applies each row as preg_match('/' . regex . '/i', subject): whole
    tokens, any separators between the tokens of a phrase (spaces, dots, underscores, dashes or
    nothing). NNTmux silences preg errors, so a broken operator regex never matches."""
    if e.mode == "regex":
        return re.sub(r"(?<!\\)/", r"\/", e.term)  # the operator's own PCRE; only the delimiter is escaped
    body = r"[\W_]*".join(_pcre_escape(t) for t in e.term.split())  # escapes the "/" delimiter too
    if e.mode in ("token", "phrase"):
        return rf"(?<![a-z0-9]){body}(?![a-z0-9])"
    if e.mode == "prefix":
        return rf"(?<![a-z0-9]){body}"
    return body


def _pcre_escape(s: str) -> str:
    return "".join(c if c.isalnum() or c == "_" or ord(c) > 127 else "\\" + c for c in s)


def _mysql_str(s: str) -> str:
    """A MySQL string literal (backslash is an escape character in MySQL's default mode)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
