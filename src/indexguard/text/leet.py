"""Leetspeak: which characters may stand for which letter, and the collapsed alphabet used to find
candidates.

Matching is two-stage. Stage one scans a *collapsed* text in which every character that can stand for
a letter is replaced by one representative (1, l, i, |, ! all become `i`), so one literal per term
finds every leet spelling. Stage two checks each character against the term letter it stands for, so
`l` in the text never passes for a term's `i` (a near miss), while `1` passes for both.
"""

from __future__ import annotations

# Characters (other than the letter itself) that may stand for a letter.
SINGLE: dict[str, str] = {
    "a": "4@",
    "b": "86",
    "e": "3",
    "g": "96",
    "i": "1!|",
    "l": "1|",
    "o": "0",
    "s": "5$",
    "t": "7+",
    "z": "2",
}

# Multi-character spellings of one letter, longest first.
MULTI: dict[str, str] = {
    "\\/\\/": "w",
    "|-|": "h",
    "|_|": "u",
    "(_)": "u",
    "()": "o",
    "[]": "o",
    "|<": "k",
    "|)": "d",
    "/\\": "a",
    "\\/": "v",
}

# Symbols that are letters inside a leet word but separators everywhere else.
LEET_SYMBOLS = frozenset("@$!|+")

# One representative for each group of characters that can stand for the same letter.
_GROUPS = ("il1!|", "bg689", "o0", "a4@", "e3", "s5$", "t7+", "z2")
COLLAPSE: dict[str, str] = {c: g[0] for g in _GROUPS for c in g}
COLLAPSE_TABLE: dict[int, str] = {ord(k): v for k, v in COLLAPSE.items()}


def _bytes_table() -> bytes:
    table = bytearray(range(256))
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = cp + 32
    for k, v in COLLAPSE.items():
        table[ord(k)] = ord(v)
        if k.isalpha():
            table[ord(k.upper())] = ord(v)
    return bytes(table)


# Lowercases ASCII and collapses in one `bytes.translate`: the bulk path's only normalisation step.
LOWER_COLLAPSE_BYTES = _bytes_table()


def collapse(text: str) -> str:
    return text.translate(COLLAPSE_TABLE)


def allowed(term_char: str) -> frozenset[str]:
    """Every spelling (single or multi-character) that may stand for `term_char`."""
    spellings = {term_char, *SINGLE.get(term_char, "")}
    spellings.update(seq for seq, letter in MULTI.items() if letter == term_char)
    return frozenset(spellings)


def _separator_bytes() -> bytes:
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n")
    keep.update(s.encode()[0] for s in LEET_SYMBOLS)
    return bytes(c for c in range(128) if c not in keep)


# ASCII bytes that the compact view drops (everything but letters, digits, leet symbols, newline).
SEPARATOR_BYTES = _separator_bytes()
