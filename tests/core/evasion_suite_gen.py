"""The project's own generated evasion suite: placeholder pseudo-words only, no real vocabulary.

Every family is an evasion a reader still reads as the word (positives: must block) and, for each,
the same transform applied to ordinary words, near misses and cross-word joins (negatives: must be
allowed). Character tables are drawn from Unicode data the canonicalizer does *not* use in the same
way (names and decompositions from `unicodedata`, the confusables prototypes for a letter), so the suite
checks the mechanism rather than echoing it.

    python tests/core/evasion_suite_gen.py OUTDIR   # writes terms.txt, positives.jsonl, negatives.jsonl
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from indexguard.text.confusables import latin_prototypes

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
RLO, LRO, RLE, LRE, PDF, RLI, LRI, FSI, PDI = (
    chr(c) for c in (0x202E, 0x202D, 0x202B, 0x202A, 0x202C, 0x2067, 0x2066, 0x2068, 0x2069)
)
INVISIBLE = [
    chr(c)
    for c in (
        0x200B,
        0x200C,
        0x200D,
        0x2060,
        0xFEFF,
        0x00AD,
        0x034F,
        0x2061,
        0x2062,
        0x2063,
        0x2064,
        0x180E,
        0x17B4,
        0xE0020,
    )
]
OVERLAYS = [
    chr(c)
    for c in (
        0x0334,
        0x0335,
        0x0336,
        0x0337,
        0x0338,
        0x0332,
        0x0333,
        0x0305,
        0x0304,
        0x20D2,
        0x20D3,
        0x20E5,
        0x0489,
        0x0300,
        0x0301,
        0x0302,
        0x0308,
        0x0323,
    )
]
SPACES = [chr(c) for c in (0x20, 0xA0, 0x2000, 0x2002, 0x2003, 0x2005, 0x2007, 0x2009, 0x200A, 0x202F, 0x205F, 0x3000)]
SEPARATORS = [".", "-", "_", "/", "·", "•", "*", "~", "|", "•", ":"]
CYRILLIC = {
    "a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "дж", "k": "к",
    "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в",
    "w": "в", "x": "кс", "y": "й", "z": "з",
}  # fmt: skip
GREEK = {
    "a": "α", "b": "μπ", "c": "κ", "d": "ντ", "e": "ε", "f": "φ", "g": "γκ", "h": "χ", "i": "ι", "j": "τζ", "k": "κ",
    "l": "λ", "m": "μ", "n": "ν", "o": "ο", "p": "π", "q": "κ", "r": "ρ", "s": "σ", "t": "τ", "u": "ου", "v": "β",
    "w": "ου", "x": "ξ", "y": "ι", "z": "ζ",
}  # fmt: skip
BBCODE_INLINE = ["b", "i", "u", "s", "color=red", "size=2", "font=Arial"]
HTML_INLINE = ["b", "i", "u", "em", "strong", "span", 'span class="x"', "font color=red", 'a href="#"']


def _by_name(pattern: str) -> dict[str, list[str]]:
    """Per ASCII letter, every code point whose Unicode name is `pattern` filled with that letter."""
    out: dict[str, list[str]] = {}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for case in ("SMALL", "CAPITAL"):
            with contextlib.suppress(KeyError):
                out.setdefault(letter, []).append(unicodedata.lookup(pattern.format(case=case, L=letter.upper())))
    return out


STYLES: dict[str, dict[str, list[str]]] = {
    name: _by_name(pattern)
    for name, pattern in {
        "math_bold": "MATHEMATICAL BOLD {case} {L}",
        "math_italic": "MATHEMATICAL ITALIC {case} {L}",
        "math_script": "MATHEMATICAL BOLD SCRIPT {case} {L}",
        "math_fraktur": "MATHEMATICAL FRAKTUR {case} {L}",
        "math_double": "MATHEMATICAL DOUBLE-STRUCK {case} {L}",
        "math_sans": "MATHEMATICAL SANS-SERIF BOLD ITALIC {case} {L}",
        "math_mono": "MATHEMATICAL MONOSPACE {case} {L}",
        "circled": "CIRCLED LATIN {case} LETTER {L}",
        "parenthesized": "PARENTHESIZED LATIN {case} LETTER {L}",
        "squared": "SQUARED LATIN CAPITAL LETTER {L}",
        "negative_squared": "NEGATIVE SQUARED LATIN CAPITAL LETTER {L}",
        "negative_circled": "NEGATIVE CIRCLED LATIN CAPITAL LETTER {L}",
        "regional": "REGIONAL INDICATOR SYMBOL LETTER {L}",
        "fullwidth": "FULLWIDTH LATIN {case} LETTER {L}",
        "small_capital": "LATIN LETTER SMALL CAPITAL {L}",
        "modifier": "MODIFIER LETTER {case} {L}",
    }.items()
}


def _confusable_table() -> dict[str, list[str]]:
    """Lower-case look-alikes per letter (a capital inside a lower-case word would read as camelCase)."""
    out: dict[str, list[str]] = {}
    for ch, letter in sorted(latin_prototypes().items()):
        if letter.isalpha() and letter not in "l" and not ch.isupper():  # l and I share glyphs: see canonicalizer
            out.setdefault(letter, []).append(ch)
    return out


CONFUSABLE = _confusable_table()


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    family: str
    expect: str  # block | allow
    kind: str = ""  # for negatives: benign | near_miss | cross_word | decorated


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables)) + (
        rng.choice(CONSONANTS) if rng.random() < 0.3 else ""
    )


# ---- transforms: each takes (rng, word) and returns what the uploader stores ----------------------


def _styled(rng: random.Random, w: str) -> str:
    """One style and one case for the whole word, as a styled-text generator writes it."""
    style = STYLES[rng.choice(sorted(STYLES))]
    upper = rng.random() < 0.3
    out = []
    for c in w:
        forms = [f for f in style.get(c, []) if f.isupper() == upper or not f.isalpha()] or style.get(c, [])
        out.append(rng.choice(forms) if forms else c)
    return "".join(out)


def _confusables(rng: random.Random, w: str) -> str:
    out = [rng.choice(CONFUSABLE[c]) if c in CONFUSABLE and rng.random() < 0.6 else c for c in w]
    return "".join(out)


def _rlo_reversed(rng: random.Random, w: str) -> str:
    form = rng.randrange(4)
    rev = w[::-1]
    if form == 0:
        return RLO + rev + PDF
    if form == 1:
        return RLI + RLO + rev + PDF + PDI
    if form == 2:
        cut = rng.randrange(1, len(rev))
        return RLO + rev[:cut] + PDF + RLO + rev[cut:] + PDF
    return RLE + RLO + rev + PDF + PDF


def _numeric_refs(rng: random.Random, w: str) -> str:
    def ref(c: str) -> str:
        return rng.choice([f"&#{ord(c)};", f"&#x{ord(c):x};", f"&#X{ord(c):X};", f"&#0{ord(c)};"])

    return "".join(ref(c) if rng.random() < 0.5 else c for c in w)


def _named_refs(rng: random.Random, w: str) -> str:
    accents = {"a": "aacute", "e": "eacute", "i": "iacute", "o": "oacute", "u": "uacute"}
    return "".join(f"&{accents[c]};" if c in accents else c for c in w)


def _bbcode_split(rng: random.Random, w: str) -> str:
    cut = rng.randrange(1, len(w))
    tag = rng.choice(BBCODE_INLINE)
    close = tag.split("=")[0]
    return f"{w[:cut]}[{tag}]{w[cut:]}[/{close}]" if rng.random() < 0.5 else f"[{tag}]{w[:cut]}[/{close}]{w[cut:]}"


def _html_split(rng: random.Random, w: str) -> str:
    cut = rng.randrange(1, len(w))
    tag = rng.choice(HTML_INLINE)
    close = tag.split()[0]
    return f"{w[:cut]}<{tag}>{w[cut:]}</{close}>" if rng.random() < 0.5 else f"<{tag}>{w[:cut]}</{close}>{w[cut:]}"


def _cyrillic(rng: random.Random, w: str) -> str:
    return "".join(CYRILLIC[c] for c in w)


def _greek(rng: random.Random, w: str) -> str:
    out = "".join(GREEK[c] for c in w)
    return out[:-1] + "ς" if out.endswith("σ") else out


def _invisible(rng: random.Random, w: str) -> str:
    return "".join(
        c + ("".join(rng.choice(INVISIBLE) for _ in range(rng.randrange(1, 3))) if rng.random() < 0.7 else "")
        for c in w
    )


def _overlay(rng: random.Random, w: str) -> str:
    return "".join(c + "".join(rng.choice(OVERLAYS) for _ in range(rng.randrange(1, 4))) for c in w)


def _fullwidth_mixed(rng: random.Random, w: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if rng.random() < 0.5 else c for c in w)


def _unicode_spacing(rng: random.Random, w: str) -> str:
    sep = rng.choice(SPACES + SEPARATORS)
    return sep.join(w)


def _mixed_leet(rng: random.Random, w: str) -> str:
    leet = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7+", "z": "2", "b": "8", "g": "9"}
    out = []
    for c in w:
        r = rng.random()
        if c in leet and r < 0.5:
            out.append(rng.choice(leet[c]))
        elif c in CONFUSABLE and r < 0.7:
            out.append(rng.choice(CONFUSABLE[c]))
        else:
            out.append(c)
    word = "".join(out)
    upper = word.upper()
    # Some look-alikes have no capital: upper-casing around them would read as camelCase.
    return upper if rng.random() < 0.3 and not any(c.islower() for c in upper) else word


def _stretched(rng: random.Random, w: str) -> str:
    """One or two letters held for emphasis: typed three to six times."""
    out = list(w)
    for i in rng.sample(range(len(w)), min(len(w), rng.randrange(1, 3))):
        out[i] = w[i] * rng.randrange(3, 7)
    word = "".join(out)
    return word.upper() if rng.random() < 0.3 else word


DECORATIONS = ["★", "☆", "♥", "❤\ufe0f", "✨", "🔥", "😀", "👍🏽", "✿", "♛", "☠", "⚡"]


def _symbol_infix(rng: random.Random, w: str) -> str:
    """A pictograph or symbol typed inside the word, once or twice."""
    out = list(w)
    for i in sorted(rng.sample(range(1, len(w)), min(len(w) - 1, rng.randrange(1, 3))), reverse=True):
        out.insert(i, rng.choice(DECORATIONS))
    return "".join(out)


def _cyrillic_mixed(rng: random.Random, w: str) -> str:
    """Some letters spelled in Cyrillic by sound, the rest left Latin."""
    return "".join(CYRILLIC[c] if rng.random() < 0.5 else c for c in w)


UPSIDE_DOWN = dict(zip("abcdefghijklmnopqrstuvwxyz", "ɐqɔpǝɟƃɥᴉɾʞlɯuodbɹsʇnʌʍxʎz", strict=True))


def _upside_down(rng: random.Random, w: str) -> str:
    """Turned through 180 degrees, as upside-down text generators write it."""
    return "".join(UPSIDE_DOWN.get(c, c) for c in reversed(w))


def _mixed_scripts(rng: random.Random, w: str) -> str:
    """Several families at once: confusables, overlays and invisible characters in one word."""
    return _invisible(rng, _overlay(rng, _confusables(rng, w)) if rng.random() < 0.5 else _confusables(rng, w))


FAMILIES: dict[str, Callable[[random.Random, str], str]] = {
    "styled_letters": _styled,
    "confusables_table": _confusables,
    "display_order": _rlo_reversed,
    "numeric_refs": _numeric_refs,
    "named_refs": _named_refs,
    "bbcode_split": _bbcode_split,
    "html_split": _html_split,
    "cyrillic_phonetic": _cyrillic,
    "greek_phonetic": _greek,
    "invisible_separators": _invisible,
    "combining_overlays": _overlay,
    "fullwidth_mixed": _fullwidth_mixed,
    "unicode_spacing": _unicode_spacing,
    "mixed_leet": _mixed_leet,
    "mixed_scripts": _mixed_scripts,
    "repeated_letters": _stretched,
    "symbol_infix": _symbol_infix,
    "cyrillic_mixed": _cyrillic_mixed,
    "upside_down": _upside_down,
}


LEET_FAMILIES = frozenset({"mixed_leet"})
# Families whose inserted characters may also read as a word break: a near miss `re` + `lubu` with a star
# between reads `re★lubu` both as one word and as `re lubu`. Such negatives are ambiguous, not negatives.
SEPARATING_FAMILIES = frozenset({"symbol_infix"})


def _reads_as_term(text: str, terms: set[str]) -> bool:
    spaced = "".join(c if c.isascii() else " " for c in text)
    return any(w in terms for w in spaced.lower().split())


def _context(rng: random.Random, core: str, benign: list[str]) -> str:
    left = " ".join(rng.sample(benign, rng.randrange(0, 3)))
    right = " ".join(rng.sample(benign, rng.randrange(0, 3)))
    year = f" ({rng.randrange(1970, 2026)})" if rng.random() < 0.3 else ""
    return " ".join(x for x in (left, core, right) if x) + year


# Families that a generator applies to the whole title, not to one word.
WHOLE_TITLE_FAMILIES = frozenset({"upside_down"})


def _place(
    rng: random.Random, family: str, fn: Callable[[random.Random, str], str], word: str, benign: list[str]
) -> str:
    if family in WHOLE_TITLE_FAMILIES:
        return fn(rng, _context(rng, word, benign))
    return _context(rng, fn(rng, word), benign)


def _near_misses(rng: random.Random, term: str, terms: set[str], *, substitute_only: bool = False) -> list[str]:
    """One letter inserted, deleted or changed: another word, never a spelling of the term. Changes stay
    among letters no family reads alike (no c/k/q/x/w/v/y/j/h/l, no vowel for a vowel)."""
    safe = "bdfgmnprstz"
    out = []
    for _ in range(20):
        i = rng.randrange(len(term))
        op = rng.randrange(3)
        if op == 0 and term[i] in safe:
            cand = term[:i] + rng.choice(safe.replace(term[i], "")) + term[i + 1 :]
        elif op == 1 and not substitute_only:
            cand = term[:i] + rng.choice(safe) + rng.choice(VOWELS) + term[i:]
        elif not substitute_only and len(term) > 4 and term[i] in safe and (i == 0 or term[i - 1] != term[i]):
            cand = term[:i] + term[i + 1 :]
        else:
            continue
        if cand not in terms and len(set(cand)) > 1:
            out.append(cand)
        if len(out) >= 2:
            break
    return out


def generate(seed: int = 17, per_family: int = 120) -> tuple[list[str], list[Case], list[Case]]:
    rng = random.Random(seed)
    words = {_word(rng, rng.randrange(2, 5)) for _ in range(60)}
    terms = sorted(w for w in words if len(w) >= 4)[:40]
    term_set = set(terms)
    benign_pool = sorted({_word(rng, rng.randrange(1, 4)) for _ in range(2000)} - term_set)
    benign = [w for w in benign_pool if not any(t in w for t in terms) and len(w) >= 2]
    positives: list[Case] = []
    negatives: list[Case] = []
    for family, fn in FAMILIES.items():
        for k in range(per_family):
            term = terms[k % len(terms)]
            positives.append(Case(f"{family}-p{k}", _place(rng, family, fn, term, benign), family, "block"))
            # decorated ordinary words: the same transform on a word that is no term
            plain = rng.choice(benign)
            negatives.append(
                Case(f"{family}-d{k}", _place(rng, family, fn, plain, benign), family, "allow", "decorated")
            )
            # Leet turns an added letter into a digit, and a number beside a word is a word boundary
            # (`zorblat2019`): in leet families a near miss changes a letter instead.
            leet = family in LEET_FAMILIES
            for j, miss in enumerate(_near_misses(rng, term, term_set, substitute_only=leet)):
                text = _place(rng, family, fn, miss, benign)
                if family in SEPARATING_FAMILIES and _reads_as_term(text, term_set):
                    continue
                negatives.append(Case(f"{family}-n{k}-{j}", text, family, "allow", "near_miss"))
            cut = rng.randrange(1, len(term))
            left, right = rng.choice(benign) + term[:cut], term[cut:] + rng.choice(benign)
            joined = f"{fn(rng, left)} {fn(rng, right)}"
            negatives.append(Case(f"{family}-x{k}", joined, family, "allow", "cross_word"))
    return terms, positives, negatives


def main(out: Path) -> None:
    terms, positives, negatives = generate()
    out.mkdir(parents=True, exist_ok=True)
    (out / "terms.txt").write_text("# generated placeholder terms\n" + "\n".join(terms) + "\n", encoding="utf-8")
    for name, cases in (("positives", positives), ("negatives", negatives)):
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for c in cases:
                fh.write(json.dumps(c.__dict__, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
