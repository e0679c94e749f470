"""Building a Screener from the list files named on the command line."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from indexguard.demo.terms import demo_term_list
from indexguard.errors import ListFormatError
from indexguard.lists.hash_list import HASH_TYPES, BankKind, HashBank, load_hash_list
from indexguard.lists.terms import TermList, load_term_list
from indexguard.lists.url_list import load_url_list
from indexguard.screen.assemble import assemble
from indexguard.screen.deny_set import DenySetKeyError, JsonlDenySet
from indexguard.screen.screener import Screener
from indexguard.text.canonicalize import Canonicalizer

TermsOpt = Annotated[list[Path] | None, typer.Option("--terms", help="term list (.txt or .csv); repeatable")]
AllowOpt = Annotated[list[Path] | None, typer.Option("--allow", help="term allowlist (.txt or .csv); repeatable")]
HashesOpt = Annotated[
    list[str] | None,
    typer.Option("--hashes", metavar="[TYPE:]FILE",
                 help="hash list, [TYPE:]FILE (plain or CSV; TYPE e.g. sha256, pdq); repeatable"),
]
AllowHashesOpt = Annotated[list[str] | None, typer.Option("--allow-hashes", metavar="[TYPE:]FILE",
                                                          help="allowlist hash bank; repeatable")]
UrlsOpt = Annotated[list[Path] | None, typer.Option("--urls", help="URL list (.txt or .csv); repeatable")]
AllowUrlsOpt = Annotated[list[Path] | None, typer.Option("--allow-urls", help="URL allowlist; repeatable")]
DenyOpt = Annotated[
    Path | None, typer.Option("--deny", help="deny-set file (JSONL): refuse re-uploads, remember new blocks")
]
DenyKeyOpt = Annotated[
    Path | None,
    typer.Option("--deny-key", metavar="FILE",
                 help="key file the deny set keys its URLs with (default: the deny file's name + .key)"),
]
BackendOpt = Annotated[str, typer.Option(metavar="auto|hyperscan|ahocorasick",
                                         help="term matcher backend: auto, hyperscan or ahocorasick")]


@dataclass
class ListArgs:
    terms: list[Path] | None = None
    allow: list[Path] | None = None
    hashes: list[str] | None = None
    allow_hashes: list[str] | None = None
    urls: list[Path] | None = None
    allow_urls: list[Path] | None = None
    deny: Path | None = None
    backend: str = "auto"
    extra: dict[str, str] = field(default_factory=dict)
    deny_key: Path | None = None


def _hash_bank(spec: str, allowlist: bool) -> HashBank:
    kind: BankKind = "allowlist" if allowlist else "normal"
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in HASH_TYPES:
        return load_hash_list(rest, hash_type=prefix, kind=kind)
    return load_hash_list(spec, kind=kind)


def load_screener(
    args: ListArgs, *, quiet: bool = False, writes_deny: bool = False
) -> tuple[Screener, JsonlDenySet | None]:
    """Raises ListFormatError (file:line: reason) when a list is broken. `writes_deny`: this
    command remembers new blocks in the deny set (the one writer: it may create the deny set's key
    and rewrite an older file's clear URLs as digests)."""
    canon = Canonicalizer()
    term_lists: list[TermList]
    if args.terms:
        term_lists = [load_term_list(p, canon=canon) for p in args.terms]
    else:
        if not quiet:
            print("indexguard: no --terms given, using the bundled demo list of placeholder terms", file=sys.stderr)
        term_lists = [demo_term_list()]
    allow_lists = [load_term_list(p, allowlist=True, canon=canon) for p in args.allow or []]
    banks = [_hash_bank(s, False) for s in args.hashes or []] + [_hash_bank(s, True) for s in args.allow_hashes or []]
    url_lists = [load_url_list(p) for p in args.urls or []] + [
        load_url_list(p, allowlist=True) for p in args.allow_urls or []
    ]
    deny = None
    if args.deny is not None:
        try:
            deny = open_deny_set(args.deny, args.deny_key, write=writes_deny)
        except OSError as e:
            raise ListFormatError(str(args.deny), None, f"cannot open deny set: {e.strerror or e}") from None
    screener = assemble(term_lists, allow_lists, banks=banks, urls=url_lists, deny=deny, backend=args.backend)
    return screener, deny


def deny_key_path(deny: Path, key_file: Path | None = None) -> Path:
    """Where the deny set's key is: the named key file, or the deny file's name + `.key`."""
    return key_file if key_file is not None else deny.with_name(deny.name + ".key")


def open_deny_set(path: Path, key_file: Path | None, *, write: bool) -> JsonlDenySet:
    """The CLI's deny set, its URLs keyed with the key in `deny_key_path` (see docs/urls-and-deny-set.md
    section 4). A writer creates the key file when it is missing and the deny file holds no digest,
    and rewrites an older file's clear URLs as digests at once. A file that holds digests while its
    key file is missing, or that was written with another key, is refused (DenySetKeyError): it
    would match no URL."""
    key_path = deny_key_path(path, key_file)
    warnings: list[str] = []
    if key_path.is_file():
        deny = JsonlDenySet(path, url_key=_url_key(key_path, create=False))
    else:
        try:
            deny = JsonlDenySet(path)
        except DenySetKeyError:
            raise DenySetKeyError(
                f"{path} holds keyed URL digests but its key file {key_path} is missing: "
                "restore that file, or name the key file with --deny-key"
            ) from None
        if write:  # first keyed use of this deny set: make its key, read the file again keyed
            warnings = deny.warnings
            deny = JsonlDenySet(path, url_key=_url_key(key_path, create=True))
    for w in warnings + deny.warnings:
        print(f"indexguard: {w}", file=sys.stderr)
    if write and deny.needs_rewrite:
        converted = deny.clear_urls
        deny.compact()
        if converted:
            print(f"indexguard: {path}: rewrote {converted} URL(s) kept in clear as keyed digests "
                  f"(key file {key_path})", file=sys.stderr)
    return deny


def _url_key(key_path: Path, *, create: bool) -> bytes:
    """The deny set's URL key: the `identity-url` subkey of the key in the key file, as the service
    derives it from its key (so a deny file keyed with the service's key file has its digests)."""
    from indexguard.crypto import IDENTITY_URL, Cipher, load_key_file

    return Cipher(load_key_file(key_path, create=create).key).subkey(IDENTITY_URL)
