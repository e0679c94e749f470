"""Charset detection: UTF-8 first, declared encoding, then legacy charsets by plausibility."""

from __future__ import annotations

import pytest

from indexguard.formats.charsets import decode_text, normalize_charset


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("бизу хусинджопук", "cp1251"),
        ("Bizu.Тест.2019", "cp1251"),
        ("中文名字测试", "gbk"),
        ("电影合集", "gbk"),
        ("中文名字測試", "big5"),
        ("テストのファイル", "shift_jis"),
        ("日本語の名前", "shift_jis"),
        ("café crème", "latin-1"),
        ("Ärger über Öl", "latin-1"),
    ],
)
def test_legacy_charset_is_recognised(text: str, charset: str) -> None:
    best = decode_text(text.encode(charset))[0]
    assert (best.text, best.charset) == (text, charset)


def test_utf8_wins_and_ascii_is_fast() -> None:
    assert [d.charset for d in decode_text("бизу".encode())][:1] == ["utf-8"]
    assert decode_text(b"plain") == decode_text(b"plain")
    assert len(decode_text(b"plain")) == 1


def test_declared_encoding_first_when_it_decodes() -> None:
    raw = "中文名字測試".encode("big5")
    assert decode_text(raw, declared="BIG5")[0].charset == "big5"
    assert decode_text(raw, declared="no-such-charset")[0].charset == "big5"


def test_every_decoding_is_offered() -> None:
    decs = decode_text("бизу".encode("cp1251"))
    assert {"cp1251", "latin-1"} <= {d.charset for d in decs}
    assert normalize_charset(" UTF8 ") == "utf-8" and normalize_charset("nope") is None
