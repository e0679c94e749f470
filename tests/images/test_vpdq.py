"""vPDQ: the index answers the library's brute-force match rule exactly; banks, parsing and the CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.errors import ListFormatError, ParseError
from indexguard.formats.video import VPDQ_HINT, Frame, VpdqUnavailable, hash_video, parse_vpdq, to_json
from indexguard.lists.vpdq_list import load_vpdq_bank
from indexguard.match.vpdq_index import VpdqBank, VpdqIndex


def _flip(h: str, rnd: random.Random, k: int) -> str:
    v = int(h, 16)
    for b in rnd.sample(range(256), k):
        v ^= 1 << b
    return f"{v:064x}"


def _brute(query: list[Frame], target: list[Frame], q: int = 50, d: int = 31) -> tuple[float, float]:
    """threatexchange's vpdq_brute_matcher.match_VPDQ_hash_brute, restated (it imports `vpdq`)."""

    def prep(fs: list[Frame]) -> list[str]:
        seen: dict[str, Frame] = {}
        for f in fs:
            seen.setdefault(f.pdq, f)
        return [h for h, f in seen.items() if f.quality >= q]

    def dist(a: str, b: str) -> int:
        return (int(a, 16) ^ int(b, 16)).bit_count()

    a, b = prep(query), prep(target)
    qa = sum(any(dist(x, y) <= d for y in b) for x in a)
    qb = sum(any(dist(y, x) <= d for x in a) for y in b)
    return qa * 100 / len(a), qb * 100 / len(b)


def _video(rnd: random.Random, n: int) -> list[Frame]:
    return [Frame(f"{rnd.getrandbits(256):064x}", rnd.choice([100, 90, 60, 20]), float(i)) for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.floats(0, 100), st.floats(0, 100))
def test_index_equals_the_librarys_brute_force_rule(seed: int, videos: int, qpct: float, cpct: float) -> None:
    rnd = random.Random(seed)
    bank = [_video(rnd, rnd.randint(1, 12)) for _ in range(videos)]
    idx = VpdqIndex(query_pct=qpct, compared_pct=cpct)
    for n, v in enumerate(bank):
        idx.add(n, v)
    source = bank[rnd.randrange(videos)]
    query = [Frame(_flip(f.pdq, rnd, rnd.choice([0, 5, 20, 31, 32, 60])), rnd.choice([100, 70, 30]), f.timestamp)
             for f in source if rnd.random() < 0.9]  # fmt: skip
    query += _video(rnd, rnd.randint(0, 4)) + query[:2]  # unrelated frames and duplicates
    got = {m.video: (m.query_match_pct, m.compared_match_pct) for m in idx.match(query)}
    want = {}
    for n, v in enumerate(bank):
        if any(f.quality >= 50 for f in query) and any(f.quality >= 50 for f in v):
            qp, cp = _brute(query, v)
            if qp > 0 and qp >= qpct and cp >= cpct:
                want[n] = (qp, cp)
    assert got.keys() == want.keys()
    for k in got:
        assert got[k] == pytest.approx(want[k])


def test_parse_refuses_malformed_frames_without_echoing_them() -> None:
    good = parse_vpdq(json.dumps(["ab" * 32 + ",90,1.000"]))
    assert good == [Frame("ab" * 32, 90, 1.0)]
    for bad in ("{", '"x"', json.dumps(["zz,1,1"]), json.dumps(["ab" * 32 + ",101,0"]), json.dumps(["ab" * 32]),
                json.dumps(["ab" * 32 + ",9,-1"])):  # fmt: skip
        with pytest.raises(ParseError) as e:
            parse_vpdq(bad)
        assert "ab" * 8 not in str(e.value)


def _bank_file(tmp_path: Path, videos: list[list[Frame]]) -> Path:
    p = tmp_path / "clips.jsonl"
    p.write_text("".join(json.dumps({"id": f"clip-{i}", "vpdq": to_json(v)}) + "\n" for i, v in enumerate(videos)))
    return p


def test_bank_file_and_cli_match(tmp_path: Path) -> None:
    rnd = random.Random(19)
    videos = [[Frame(f.pdq, 100, f.timestamp) for f in _video(rnd, 10)] for _ in range(3)]
    path = _bank_file(tmp_path, videos)
    bank = VpdqBank(load_vpdq_bank(path))
    assert [m.entry for m in bank.match(videos[1])] == ["clip-1"]
    near = [Frame(_flip(f.pdq, rnd, 12), 95, f.timestamp) for f in videos[2][:9]]
    (tmp_path / "items.jsonl").write_text(
        json.dumps({"id": "upload-1", "vpdq": to_json(near)}) + "\n" + json.dumps({"id": "x", "vpdq": "nope"}) + "\n"
    )
    r = CliRunner().invoke(build_app(), ["vpdq", "match", str(tmp_path / "items.jsonl"), "--bank", str(path)])
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.exit_code == 1  # the second line is broken
    assert lines[0]["matches"] == [{"list": "clips", "entry": "clip-2", "category": "csam",
                                    "query_match_pct": 100.0, "compared_match_pct": 90.0}]  # fmt: skip
    assert "error" in lines[1] and all(f.pdq not in r.stdout for f in near)


def test_bank_file_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps({"id": "a", "vpdq": []}) + "\n" + json.dumps({"id": "b"}) + "\n")
    with pytest.raises(ListFormatError, match=r"bad.jsonl:2: needs a 'vpdq' field"):
        load_vpdq_bank(p)


def test_hashing_says_clearly_when_vpdq_is_not_installed(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    try:
        import vpdq  # noqa: F401
    except ImportError:
        with pytest.raises(VpdqUnavailable, match="needs the 'vpdq' package"):
            hash_video(tmp_path / "clip.mp4")
        r = CliRunner().invoke(build_app(), ["vpdq", "hash", str(tmp_path / "clip.mp4")])
        assert r.exit_code == 2 and VPDQ_HINT in r.output
    else:  # where it installs: a missing file is reported per file
        r = CliRunner().invoke(build_app(), ["vpdq", "hash", str(tmp_path / "clip.mp4")])
        assert r.exit_code == 1 and "not a file" in r.stdout
