"""PackedBank: the columnar hash bank must be the HashBank it replaces (generated hashes only)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexguard.errors import ListFormatError
from indexguard.lists.hash_list import HashBank, ListOptions, parse_hash_list
from indexguard.lists.packed_bank import PackedBank, _parse_fast, pack, parse_packed
from indexguard.match.hash_set import ExactHashSet, ImageBankSet, ImageQuery
from indexguard.match.pdq_index import PdqIndex

_WIDTH = {"md5": 32, "sha1": 40, "pdq": 64, "sha256": 64}


def _hex(rnd: random.Random, kind: str) -> str:
    return rnd.randbytes(_WIDTH[kind] // 2).hex()


def _same(packed: PackedBank, bank: HashBank) -> None:
    assert packed.version == bank.version
    assert tuple(packed.entries) == tuple(dataclasses.replace(e, line=0) for e in bank.entries)


def _both(text: str, opts: ListOptions) -> None:
    try:
        slow = parse_hash_list(text, "src", opts)
    except ListFormatError as e:
        with pytest.raises(ListFormatError) as err:
            parse_packed(text, "src", opts)
        assert str(err.value) == str(e)
        return
    _same(parse_packed(text, "src", opts), slow)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n=st.integers(1, 40),
    columns=st.sets(st.sampled_from(["type", "id", "category", "source", "severity", "enabled"])),
    upper=st.booleans(),
    damage=st.sampled_from(["none", "short", "nonhex", "zero", "dup-id", "bad-sev", "field", "blank", "pad"]),
)
def test_packed_parse_equals_the_reference_parser(
    seed: int, n: int, columns: set[str], upper: bool, damage: str
) -> None:
    rnd = random.Random(seed)
    header = ["hash", *sorted(columns)]
    rows = []
    for i in range(n):
        kind = rnd.choice(["md5", "sha1", "pdq"]) if "type" in columns else "pdq"
        cells = {
            "hash": _hex(rnd, kind).upper() if upper else _hex(rnd, kind),
            "type": kind,
            "id": rnd.choice(["", f"e{i}"]),
            "category": rnd.choice(["", "csam", "other"]),
            "source": rnd.choice(["", "hotline"]),
            "severity": rnd.choice(["", "block", "REVIEW", "warn"]),
            "enabled": rnd.choice(["", "true", "0", "no"]),
        }
        rows.append([cells[h] for h in header])
    r = rnd.randrange(n)
    if damage == "short":
        rows[r][0] = rows[r][0][:-2]
    elif damage == "nonhex":
        rows[r][0] = "g" + rows[r][0][1:]
    elif damage == "zero":
        rows[r][0] = "0" * len(rows[r][0])
    elif damage == "dup-id" and "id" in columns and n > 1:
        rows[0][header.index("id")] = rows[-1][header.index("id")] = "same"
    elif damage == "bad-sev" and "severity" in columns:
        rows[r][header.index("severity")] = "fatal"
    elif damage == "field":
        rows[r].append("extra")
    lines = [",".join(header)] + [",".join(x) for x in rows]
    if damage == "blank":
        lines.insert(1 + r, "")
    if damage == "pad":
        lines[1 + r] = " " + lines[1 + r]
    _both("\n".join(lines) + "\n", ListOptions("bank"))


def test_plain_lists_and_degenerate_pdq_agree_with_the_reference() -> None:
    rnd = random.Random(3)
    _both("\n".join(_hex(rnd, "md5") for _ in range(20)), ListOptions("plain"))
    _both("\n".join(_hex(rnd, "pdq") for _ in range(20)), ListOptions("plain", hash_type="pdq"))
    _both("\n".join(_hex(rnd, "pdq") for _ in range(3)), ListOptions("plain"))  # 64 digits: give the type
    for degenerate in ("ab" * 32, "0123" * 16, "01" * 31 + "02", "f" * 63 + "e"):
        _both(f"hash,type\n{_hex(rnd, 'pdq')},pdq\n{degenerate},pdq\n", ListOptions("p"))


def test_the_column_path_takes_clean_files() -> None:
    rnd = random.Random(4)
    text = "hash,type,id\n" + "".join(f"{_hex(rnd, 'pdq')},pdq,b{i}\n" for i in range(500))
    fast = _parse_fast(text, ListOptions("perf"))
    assert fast is not None and len(fast) == 500
    _same(fast, parse_hash_list(text, "perf", ListOptions("perf")))


def test_the_column_path_versions_banks_larger_than_one_digest_batch() -> None:
    """The version is hashed a batch of lines at a time (no gigabyte join for 10M entries): across
    several batches it must still be the reference parser's version."""
    rnd = random.Random(5)
    text = "hash,type,id\n" + "".join(f"{_hex(rnd, 'md5')},md5,m{i}\n" for i in range(150_000))
    fast = _parse_fast(text, ListOptions("big"))
    assert fast is not None and len(fast) == 150_000
    assert fast.version == parse_hash_list(text, "big", ListOptions("big")).version


def _mixed_bank(rnd: random.Random) -> HashBank:
    rows = [f"{_hex(rnd, 'pdq')},pdq,p{i},,,,{'false' if i == 3 else 'true'}" for i in range(300)]
    rows += [f"{_hex(rnd, 'md5')},md5,m{i},,,block,true" for i in range(50)]
    text = "hash,type,id,category,source,severity,enabled\n" + "\n".join(rows)
    return parse_hash_list(text, "b", ListOptions("b"))


def _flip(h: str, bits: int) -> str:
    v = int(h, 16)
    for b in range(bits):
        v ^= 1 << (b * 11 % 256)
    return f"{v:064x}"


def test_saved_packed_bank_matches_like_the_hash_bank(tmp_path: Path) -> None:
    rnd = random.Random(5)
    bank = _mixed_bank(rnd)
    packed = pack(bank)
    g = packed.groups["pdq"]
    tables = PdqIndex.from_arrays(g.raw.view("u8").reshape(-1, 4), g.rows).mih_tables()
    dataclasses.replace(packed, pdq_mih=tables).save(tmp_path)
    opened = PackedBank.open(tmp_path)
    _same(opened, bank)
    pdqs = [e.value for e in bank.entries if e.hash_type == "pdq"]
    queries = [_flip(p, rnd.randrange(0, 40)) for p in pdqs[:60]] + [_hex(rnd, "pdq") for _ in range(20)]

    def hits(b: HashBank | PackedBank, q: str) -> list[tuple[str, str, int]]:
        m = ImageBankSet([b]).match_image(ImageQuery(pdq=q, quality=90))
        return sorted((h.entry, h.severity, h.extra["distance"]) for h in m.hits)

    assert any(hits(bank, q) for q in queries)
    for q in queries:
        assert hits(opened, q) == hits(bank, q)
    assert hits(opened, pdqs[3]) == []  # disabled entry
    exact_ref, exact = ExactHashSet([bank]), ExactHashSet([opened])
    for e in [x for x in bank.entries if x.hash_type == "md5"][:10]:
        assert [h.entry for h in exact.lookup("md5", e.value.upper())] == [e.id]
        assert exact.lookup("md5", e.value) == exact_ref.lookup("md5", e.value)
    assert exact.lookup("md5", _hex(rnd, "md5")) == []
    assert len(exact) == len(exact_ref)
