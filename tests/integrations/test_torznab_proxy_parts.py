"""The proxy's parts on their own: the link table, download file names, the indexer file."""

from __future__ import annotations

from email.message import Message
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexguard.integrations.proxy_indexers import IndexerConfigError, load_indexers
from indexguard.integrations.proxy_links import MAX_NAME_CHARS, LinkTable, content_disposition, safe_filename


def test_links_are_short_random_reused_and_expire() -> None:
    table = LinkTable(ttl=100, max_links=1000)
    a = table.add("http://u/get/1?apikey=k", "x", "torrent", "Title", now=0)
    assert len(a) == 22 and "k" * 3 not in a
    assert table.add("http://u/get/1?apikey=k", "x", "torrent", "Title", now=10) == a  # reused
    assert table.add("http://u/get/1?apikey=k", "y", "torrent", "Title", now=10) != a  # per indexer
    link = table.get(a, now=99)
    assert link is not None and (link.url, link.indexer, link.title) == ("http://u/get/1?apikey=k", "x", "Title")
    assert table.get(a, now=100) is None  # expired
    # past half its life a link is not handed out again: a fresh one lives its full lifetime
    b = table.add("http://u/get/1?apikey=k", "x", "torrent", "Title", now=60)
    assert b != a and table.get(b, now=150) is not None
    for bad in ("", "x" * 22 + "/", "../" * 8, a[:-1]):
        assert table.get(bad, now=61) is None


def test_link_table_is_bounded() -> None:
    table = LinkTable(ttl=1000, max_links=3)
    ids = [table.add(f"http://u/{n}", "x", "torrent", str(n), now=n) for n in range(5)]
    assert len(table) == 3
    assert [table.get(i, now=5) is not None for i in ids] == [False, False, True, True, True]
    assert table.add("http://u/0", "x", "torrent", "0", now=6) not in ids  # evicted URL gets a new id


@given(st.text(max_size=500))
def test_file_names_are_safe_and_bounded(title: str) -> None:
    name = safe_filename(title, "torrent")
    stem = name.removesuffix(".torrent")
    assert name.endswith(".torrent") and 1 <= len(stem) <= MAX_NAME_CHARS
    assert not any(c in name for c in '/\\:*?"<>|') and all(ord(c) >= 32 and ord(c) != 127 for c in name)
    assert not stem.startswith(".") and stem.strip() == stem
    header = content_disposition(name)
    assert header.isascii() and "\n" not in header and "\r" not in header
    msg = Message()
    msg["content-disposition"] = header
    ascii_name = msg.get_param("filename", header="content-disposition")
    assert isinstance(ascii_name, str) and ascii_name.endswith(".torrent") and "/" not in ascii_name
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name


def test_file_name_examples() -> None:
    assert safe_filename("Public.Domain.Show.S01E01", "torrent") == "Public.Domain.Show.S01E01.torrent"
    assert safe_filename("../../etc/passwd", "nzb") == "etc_passwd.nzb"
    assert safe_filename("   ", "torrent") == "download.torrent"
    assert safe_filename("Émission: épisode 1", "torrent") == "Émission_ épisode 1.torrent"
    assert content_disposition("Émission_ épisode 1.torrent").startswith(
        'attachment; filename="Emission_ episode 1.torrent"; filename*=UTF-8\'\'%C3%89mission_')


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "indexers.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_indexer_file(tmp_path: Path) -> None:
    p = _write(tmp_path, '[indexers.alpha]\nurl = "http://127.0.0.1:9117/api/v2.0/indexers/alpha/results/torznab/api"\n'
                         'apikey_env = "ALPHA"\nname = "Alpha"\ndownload_hosts = ["DL.example.org", "x.example:8080"]\n'
                         '[indexers.beta]\nurl = "https://beta.example/api"\n')
    alpha, beta = load_indexers(p, {"ALPHA": "secret"})
    assert (alpha.id, alpha.apikey, alpha.title, alpha.download_hosts) == (
        "alpha", "secret", "Alpha", frozenset({"dl.example.org", "x.example:8080"}))
    assert (beta.id, beta.apikey, beta.title, beta.origin.port) == ("beta", None, "beta", 443)


@pytest.mark.parametrize(("text", "message"), [
    ("", "no [indexers"),
    ("[indexers.all]\nurl = 'http://a/api'\n", "not 'all'"),
    ("[indexers.Bad]\nurl = 'http://a/api'\n", "ids are"),
    ("[indexers.a]\n", "url is required"),
    ("[indexers.a]\nurl = 'ftp://a/api'\n", "http(s)"),
    ("[indexers.a]\nurl = 'http://a/api?apikey=s3cr3t'\n", "no query"),
    ("[indexers.a]\nurl = 'http://a/api'\napikey = 's3cr3t'\n", "apikey_env"),
    ("[indexers.a]\nurl = 'http://a/api'\napikey_env = 'MISSING'\n", "MISSING is not set"),
    ("[indexers.a]\nurl = 'http://a/api'\ndownload_hosts = 'x'\n", "download_hosts"),
    ("[indexers.a\n", "not valid TOML"),
])
def test_indexer_file_errors_are_clear_and_never_echo_keys(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(IndexerConfigError) as e:
        load_indexers(_write(tmp_path, text), {})
    assert message in str(e.value) and "s3cr3t" not in str(e.value)
