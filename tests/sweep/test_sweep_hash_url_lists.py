"""Hash lists and URL lists in a sweep: a tree of images matched by exact hash, links in descriptions."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from indexguard.cli.main import build_app


def _png(seed: int) -> bytes:
    img = Image.new("RGB", (64, 64), (seed * 40 % 256, seed * 90 % 256, seed * 17 % 256))
    for x in range(64):
        img.putpixel((x, (x * seed) % 64), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _flagged(path: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["decision"]["id"] if "decision" in r else r["id"]: r for r in rows}


def test_image_tree_matched_by_exact_hash_list(tmp_path: Path) -> None:
    tree = tmp_path / "thumbs"
    tree.mkdir()
    for i in range(5):
        (tree / f"t{i}.png").write_bytes(_png(i + 1))
    listed = hashlib.sha256(_png(3)).hexdigest()
    (tmp_path / "bank.txt").write_text(listed + "\n")
    (tmp_path / "terms.txt").write_text("zorblat\n")
    out = tmp_path / "flagged.jsonl"
    r = CliRunner().invoke(build_app(), [
        "sweep", str(tree), "--terms", str(tmp_path / "terms.txt"), "--hashes", f"sha256:{tmp_path / 'bank.txt'}",
        "--workers", "1", "-o", str(out), "--no-progress",
    ])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "t2.png" in text and text.count("\n") == 1
    assert listed not in text.split('"identities"')[0]  # the matched hash is not quoted as a reason


def test_links_in_descriptions_matched_by_url_list(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "title": "holiday", "description": "mirror at hxxp://listed[.]example[.]test/dir/x"},
        {"id": "b", "title": "holiday", "description": "nothing here"},
    ]
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in rows))
    (tmp_path / "urls.txt").write_text("listed.example.test/dir/*\n")
    (tmp_path / "terms.txt").write_text("zorblat\n")
    out = tmp_path / "flagged.jsonl"
    r = CliRunner().invoke(build_app(), [
        "sweep", str(src), "--terms", str(tmp_path / "terms.txt"), "--urls", str(tmp_path / "urls.txt"),
        "--workers", "1", "-o", str(out), "--no-progress",
    ])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert '"a"' in text and '"b"' not in text
