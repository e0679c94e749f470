"""A synthetic corpus for sweep tests: placeholder pseudo-word terms and torrent-style titles, about 1%
of which carry a term (plain, upper-cased, dotted or spaced out)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexguard.sweep.bundle import ListBundle, ListText

C, V = "bdfgklmnprstvz", "aeiou"
TAGS = ["1080p", "x264", "WEB-DL", "FLAC", "REPACK", "S01E02", "Vol.2"]


def pseudo(rng: random.Random, syl: int) -> str:
    return "".join(rng.choice(C) + rng.choice(V) for _ in range(syl))


def make_terms(rng: random.Random, n: int) -> list[str]:
    terms: set[str] = set()
    while len(terms) < n:
        terms.add(pseudo(rng, 4) if rng.random() < 0.7 else f"{pseudo(rng, 2)} {pseudo(rng, 3)}")
    return sorted(terms)


def make_title(rng: random.Random, vocab: list[str], terms: list[str]) -> str:
    words = [rng.choice(vocab).capitalize() for _ in range(rng.randint(2, 7))]
    words += rng.sample(TAGS, rng.randint(0, 2))
    if rng.random() < 0.01:
        t = rng.choice(terms)
        words.insert(rng.randrange(len(words) + 1), rng.choice([t, t.upper(), t.replace(" ", "."), " ".join(t)]))
    if rng.random() < 0.02:
        words.append("caf\u00e9")
    return rng.choice([" ", ".", "_"]).join(words)


@dataclass(frozen=True)
class Corpus:
    dir: Path
    terms: Path
    jsonl: Path
    txt: Path
    titles: list[str]

    def bundle(self) -> ListBundle:
        return ListBundle((ListText.read(self.terms),))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    rng = random.Random(11)
    d = tmp_path_factory.mktemp("sweep-corpus")
    terms = make_terms(rng, 300)
    term_words = {w for t in terms for w in t.split()}
    vocab = [w for w in (pseudo(rng, rng.randint(1, 3)) for _ in range(3000)) if w not in term_words]
    titles = [make_title(rng, vocab, terms) for _ in range(20_000)]
    (d / "terms.txt").write_text("# placeholder terms\n" + "\n".join(terms) + "\n", encoding="utf-8")
    (d / "titles.txt").write_text("\n".join(titles) + "\n", encoding="utf-8")
    with open(d / "titles.jsonl", "w", encoding="utf-8") as fh:
        for i, t in enumerate(titles):
            fh.write(json.dumps({"id": f"t{i}", "title": t}) + "\n")
    return Corpus(d, d / "terms.txt", d / "titles.jsonl", d / "titles.txt", titles)
