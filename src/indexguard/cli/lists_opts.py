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
from indexguard.screen.deny_set import JsonlDenySet
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


def _hash_bank(spec: str, allowlist: bool) -> HashBank:
    kind: BankKind = "allowlist" if allowlist else "normal"
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in HASH_TYPES:
        return load_hash_list(rest, hash_type=prefix, kind=kind)
    return load_hash_list(spec, kind=kind)


def load_screener(args: ListArgs, *, quiet: bool = False) -> tuple[Screener, JsonlDenySet | None]:
    """Raises ListFormatError (file:line: reason) when a list is broken."""
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
            deny = JsonlDenySet(args.deny)
        except OSError as e:
            raise ListFormatError(str(args.deny), None, f"cannot open deny set: {e.strerror or e}") from None
        for w in deny.warnings:
            print(f"indexguard: {w}", file=sys.stderr)
    screener = assemble(term_lists, allow_lists, banks=banks, urls=url_lists, deny=deny, backend=args.backend)
    return screener, deny
