"""The proxy's own upstream client (proxy_http) against scripted raw HTTP servers, and pages written
from bytes (torznab_feed.Template/KeptItem) against the tree written whole."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import pytest
from lxml import etree

from indexguard.integrations import torznab_feed as tf
from indexguard.integrations.proxy_http import Target, UpstreamClient, UpstreamFailed, UpstreamTooLarge

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, Target, list[bytes]]:
    """A loopback server; `handler` gets each request's reader/writer and the connection's number."""
    requests: list[bytes] = []
    count = 0

    async def conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        count += 1
        number = count
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                requests.append(head)
                await handler(reader, writer, number)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = Target.of(f"http://127.0.0.1:{port}/api")
    assert target is not None
    return server, target, requests


def _answer(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_connections_are_kept_alive_and_queries_encoded() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(_answer(f"conn {n}".encode()))

    async def main() -> None:
        server, target, requests = await _serve(handler)
        client = UpstreamClient(timeout=5, max_bytes=1000)
        bodies = [(await client.get(target, {"t": "search", "q": "a b&c", "apikey": "k"})).body for _ in range(3)]
        assert bodies == [b"conn 1"] * 3  # one connection for all three
        assert requests[0].startswith(b"GET /api?t=search&q=a+b%26c&apikey=k HTTP/1.1\r\n")
        assert b"\r\nHost: 127.0.0.1:" in requests[0]
        await client.aclose()
        server.close()

    asyncio.run(main())


def test_a_pooled_connection_the_server_closed_is_replaced() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(_answer(f"conn {n}".encode()))
        await writer.drain()
        writer.close()  # without saying so: the pooled connection is dead when next used

    async def main() -> None:
        server, target, _ = await _serve(handler)
        client = UpstreamClient(timeout=5, max_bytes=1000)
        assert (await client.get(target, {})).body == b"conn 1"
        await asyncio.sleep(0.05)
        assert (await client.get(target, {})).body == b"conn 2"
        server.close()

    asyncio.run(main())


def test_chunked_close_delimited_gzip_and_status() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        _answer(gzip.compress(b"<rss/>"), "Content-Encoding: gzip"),
        _answer(b"nope", "Connection: keep-alive").replace(b"200 OK", b"503 Busy"),
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    ]

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(answers.pop(0))
        if not answers:
            await writer.drain()
            writer.close()

    async def main() -> None:
        server, target, _ = await _serve(handler)
        client = UpstreamClient(timeout=5, max_bytes=1000)
        assert (await client.get(target, {})).body == b"hello world"
        assert (await client.get(target, {})).body == b"<rss/>"
        reply = await client.get(target, {})
        assert (reply.status, reply.body) == (503, b"nope")
        assert (await client.get(target, {})).body == b"until the end"
        server.close()

    asyncio.run(main())


@pytest.mark.parametrize("answer", [
    _answer(b"x" * 5000),
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"y" * 1024 + b"\r\n" + b"0\r\n\r\n",
    _answer(gzip.compress(b"z" * 100_000), "Content-Encoding: gzip"),  # small on the wire, large inside
])
def test_answers_over_the_bound_are_refused(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(answer)

    async def main() -> None:
        server, target, _ = await _serve(handler)
        with pytest.raises(UpstreamTooLarge):
            await UpstreamClient(timeout=5, max_bytes=1000).get(target, {})
        server.close()

    asyncio.run(main())


@pytest.mark.parametrize("answer", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", None])
def test_unreadable_short_and_silent_answers_fail(answer: bytes | None) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        if answer is None:
            await asyncio.sleep(5)  # never answers: the deadline ends it
            return
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, target, _ = await _serve(handler)
        with pytest.raises(UpstreamFailed) as e:
            await UpstreamClient(timeout=0.3, max_bytes=1000).get(target, {"apikey": "secretkey"})
        assert "secretkey" not in str(e.value) and "127.0.0.1" not in str(e.value)
        server.close()

    asyncio.run(main())


def test_targets_are_plain_http_urls_without_a_query() -> None:
    t = Target.of("https://idx.example:8443/api/v2.0/indexers/x/results/torznab/api")
    assert t is not None and (t.scheme, t.host, t.port, t.host_header) == ("https", "idx.example", 8443,
                                                                          "idx.example:8443")
    v6 = Target.of("http://[::1]/api")
    assert v6 is not None and (v6.host, v6.port, v6.host_header) == ("::1", 80, "[::1]")
    for url in ("http://h/api?apikey=k", "ftp://h/api", "http://u:p@h/api", "http://h:99999/api", "/api",
                "http://h/a pi", "http://h/\u00e9", "http://h\u00e9.example/api"):
        assert Target.of(url) is None


FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:torznab="http://torznab.com/schemas/2015/feed">
<channel><title>t &amp; u</title>
%s<item><title>one</title><torznab:attr name="seeders" value="1"/></item>
<item><title>two</title><atom:link href="x"/></item>
<!-- a comment --></channel>
</rss>
"""


@pytest.mark.parametrize("response", [b"", b'<torznab:response offset="0" total="9"/>\n'])
def test_a_page_from_bytes_reads_as_the_tree_written_whole(response: bytes) -> None:
    feed = tf.feed_from_root(tf.parse_document(FEED % response), read_items=False)
    kept = [tf.kept_item(el, "") for el in feed.elements]
    assert all(k.decls for k in kept)  # lxml declares the namespaces in scope on a lone item
    whole = tf.feed_from_root(tf.parse_document(FEED % response), read_items=False)
    tf.set_response(whole, 5, 7)
    template = tf.make_template(feed)
    assert template.render(kept, 5, 7) == tf.serialize(whole.root)  # the declarations were cut again
    assert template.render([], 0, 0).count(b"<item") == 0


def test_items_under_other_prefixes_keep_their_declarations() -> None:
    other = FEED.replace(b"xmlns:torznab", b"xmlns:tz").replace(b"torznab:attr", b"tz:attr") % b""
    feed = tf.feed_from_root(tf.parse_document(FEED % b""), read_items=False)
    foreign = [tf.kept_item(el, "") for el in tf.feed_from_root(tf.parse_document(other), read_items=False).elements]
    page = tf.make_template(feed).render(foreign, 0, 2)
    root = etree.fromstring(page)
    attr = root.find("channel/item/{http://torznab.com/schemas/2015/feed}attr")
    assert attr is not None and attr.get("value") == "1"
    assert b'<item xmlns:atom="http://www.w3.org/2005/Atom" xmlns:tz=' in page


def test_item_bytes_are_cut_only_when_certain() -> None:
    body = FEED % b""
    assert tf.item_bytes(body, 2) is None  # a comment could hide tags
    plain = body.replace(b"<!-- a comment -->", b"")
    feed = tf.feed_from_root(tf.parse_document(plain), read_items=False)
    assert tf.item_bytes(plain, len(feed.elements)) == [
        b'<item><title>one</title><torznab:attr name="seeders" value="1"/></item>',
        b'<item><title>two</title><atom:link href="x"/></item>']
    assert tf.item_bytes(plain, 1) is None  # any count but the parser's: not certain
    spaced = plain.replace(b"<item><title>two", b'<item\n a="x>y"><title>two').replace(b"</item>\n</ch",
                                                                                     b"</item >\n</ch")
    assert tf.item_bytes(spaced, 2) == [b'<item><title>one</title><torznab:attr name="seeders" value="1"/></item>',
                                        b'<item\n a="x>y"><title>two</title><atom:link href="x"/></item >']
    for other in (b"<item/>", b'<item xmlns="urn:x"><title>x</title></item>', b"<x><item>n</item></x>",
                  b"<![CDATA[<item>]]>", b"<?pi x?>"):
        variant = plain.replace(b"</channel>", other + b"</channel>")
        count = len(tf.feed_from_root(tf.parse_document(variant), read_items=False).elements)
        assert tf.item_bytes(variant, count) is None
    assert tf.item_bytes(plain.replace(b"<title>one</title>", b"<title>one</title><item>in</item>"), 2) is None
    assert tf.item_bytes(plain.replace(b"<title>one", b"<items/><title>one"), 2) is None  # <items> inside
    assert tf.item_bytes(plain.replace(b"<channel>", b"<channel><itemize/>"), 2) is not None


@pytest.mark.parametrize("change", [
    (b"<!-- a comment -->", b""),  # cut from the channel written once
    (b"", b""),  # a comment: each item written alone
    (b"<item><title>two", b'<item xmlns:x="urn:x" a="1"><title>two'),  # an item's own declaration
    (b"</item>\n<item>", b"</item> tail\n<item>"),  # a tail that is not plain whitespace
])
def test_kept_items_read_as_items_written_one_by_one(change: tuple[bytes, bytes]) -> None:
    body = (FEED % b"").replace(*change) if change[0] else FEED % b""
    feed = tf.feed_from_root(tf.parse_document(body), read_items=False)
    chosen = [(i, str(i)) for i in range(len(feed.elements))]
    assert tf.kept_items(feed, chosen) == [tf.kept_item(el, str(i)) for i, el in enumerate(feed.elements)]
    assert tf.kept_items(feed, chosen[1:]) == [tf.kept_item(feed.elements[1], "1")]
    assert tf.kept_items(feed, []) == []
