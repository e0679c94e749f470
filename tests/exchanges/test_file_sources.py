"""File and URL list sources (the library's local-file exchange) and the missing-extra message."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("threatexchange")

from indexguard.crypto import Cipher
from indexguard.exchanges import sources
from indexguard.exchanges.fetch import fetch_source
from indexguard.exchanges.sources import Credentials, ExchangeError, SourceConfig, parse_sources
from indexguard.store import db, lists_repo, migrate

from .test_ncmec_fetch import MD5, PDQ


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[object]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ig.db'}")
    migrate.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def _live_count(factory: object, bank: str) -> int:
    with factory() as s:  # type: ignore[operator]
        return next(v.entry_count for v in lists_repo.live_set(s).live if v.list_name == bank)


def test_file_source_is_a_snapshot_hashes_removed_from_it_leave_the_bank(factory: object, tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text(f"pdq {PDQ[0]}\npdq {PDQ[1]}\nvideo_md5 {MD5[0]}\nphotodna abc\n")
    cfg = SourceConfig(name="own-file", api="file", bank="OWN", category="csam", path=str(f))
    out = fetch_source(factory, Cipher(b"k" * 32), cfg, Credentials(), owner="t")  # type: ignore[arg-type]
    assert out.ok and out.entries == 3 and _live_count(factory, "OWN") == 3
    f.write_text(f"pdq {PDQ[1]}\n")
    again = fetch_source(factory, Cipher(b"k" * 32), cfg, Credentials(), owner="t")  # type: ignore[arg-type]
    assert again.ok and again.created and again.entries == 1 and _live_count(factory, "OWN") == 1
    f.write_text("# nothing listed any more\n")
    empty = fetch_source(factory, Cipher(b"k" * 32), cfg, Credentials(), owner="t")  # type: ignore[arg-type]
    assert empty.ok and empty.entries == 0 and empty.list_number is None
    with factory() as s:  # type: ignore[operator]
        assert all(v.list_name != "OWN" for v in lists_repo.live_set(s).live)  # out of matching


def test_url_source_downloads_the_list_and_refuses_errors(factory: object, tmp_path: Path) -> None:
    (tmp_path / "feed.txt").write_text(f"{PDQ[2]}\n{PDQ[3]}\n")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        cfg = SourceConfig(
            name="feed", api="url", bank="FEED", category="csam", url=f"{base}/feed.txt", signal_type="pdq"
        )
        out = fetch_source(factory, Cipher(b"k" * 32), cfg, Credentials(), owner="t")  # type: ignore[arg-type]
        assert out.ok and out.entries == 2
        missing = SourceConfig(name="gone", api="url", bank="GONE", category="csam", url=f"{base}/nope.txt")
        bad = fetch_source(factory, Cipher(b"k" * 32), missing, Credentials(), owner="t")  # type: ignore[arg-type]
        assert not bad.ok and bad.error == "list download answered HTTP 404"
    finally:
        server.shutdown()


def test_source_settings_are_checked() -> None:
    ok = parse_sources([{"name": "n1", "api": "ncmec", "environment": "NGO"}])
    assert ok[0].bank == "n1" and ok[0].category == "csam"
    assert parse_sources([{"name": "s", "api": "stopncii"}])[0].category == "ncii"
    for bad, message in (
        ({"name": "x", "api": "nope"}, "api must be one of"),
        ({"name": "x", "api": "ncmec", "password": "p"}, "credentials belong in settings"),
        ({"name": "x", "api": "url", "url": "http://example.org/l.txt"}, "must be https://"),
        ({"name": "x", "api": "fb_threatexchange"}, "needs privacy_group"),
        ({"name": "../x", "api": "file", "path": "/x"}, "name must match"),
    ):
        with pytest.raises(ExchangeError, match=message):
            parse_sources([bad])
    with pytest.raises(ExchangeError, match="duplicate"):
        parse_sources([{"name": "a", "api": "file", "path": "/x"}, {"name": "a", "api": "file", "path": "/y"}])


def test_missing_extra_fails_with_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "threatexchange", None)  # as if not installed
    with pytest.raises(sources.ExtraMissing, match=r"pip install 'indexguard\[exchanges\]'"):
        sources.library()


def test_credentials_are_scrubbed_and_hidden_from_repr() -> None:
    c = Credentials(ncmec_user="u-1", ncmec_password="p/w 2", te_token="tok|3")
    assert "p/w" not in repr(c) and "tok" not in repr(c)
    assert (
        c.scrub("GET https://x/?access_token=tok%7C3 as u-1 with p/w 2")
        == "GET https://x/?access_token=*** as *** with ***"
    )


def test_a_shadow_source_runs_new_versions_in_shadow(factory: object, tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text(f"pdq {PDQ[0]}\n")
    live = SourceConfig(name="own-file", api="file", bank="OWN", category="csam", path=str(f))
    assert fetch_source(factory, Cipher(b"k" * 32), live, Credentials(), owner="t").ok  # type: ignore[arg-type]
    f.write_text(f"pdq {PDQ[0]}\npdq {PDQ[1]}\n")
    shadow = SourceConfig(name="own-file", api="file", bank="OWN", category="csam", path=str(f), activate="shadow")
    out = fetch_source(factory, Cipher(b"k" * 32), shadow, Credentials(), owner="t")  # type: ignore[arg-type]
    assert out.ok and out.created and out.activated == "shadow" and out.list_number == 2
    with factory() as s:  # type: ignore[operator]
        assert lists_repo.shadow_report(s, "OWN")["candidate"]["number"] == 2
        assert [v.number for v in lists_repo.versions(s, "OWN") if v.live] == [1]
