"""Never-crash and bounded-time properties of the integration parsers: Torznab feeds, webhook
signature headers, middleware query strings."""

from __future__ import annotations

import contextlib
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ig_helpers import term_list

from indexguard.errors import IndexguardError
from indexguard.integrations import torznab_feed as tf
from indexguard.integrations.guard import QueryGuard
from indexguard.integrations.webhooks import WebhookVerificationError, verify
from indexguard.screen.screener import Screener

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEED = tf.empty_feed().decode()
SCREENER = Screener.build([term_list()])


@SETTINGS
@given(st.binary(max_size=2000))
def test_feed_parser_never_crashes_on_bytes(data: bytes) -> None:
    try:
        feed = tf.parse_feed(data)
    except IndexguardError:
        return
    for it in feed.items:
        it.to_item()


@SETTINGS
@given(st.text(max_size=300), st.integers(min_value=0, max_value=len(FEED)))
def test_feed_parser_never_crashes_on_mutated_feeds(insert: str, at: int) -> None:
    data = (FEED[:at] + insert + FEED[at:]).encode()
    try:
        feed = tf.parse_feed(data)
        tf.serialize(feed.root)
    except IndexguardError:
        pass


def test_entity_expansion_and_dtds_are_refused_fast() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY a{i} "{"&a;" * 10 if i == 0 else f"&a{i - 1};" * 10}">' for i in range(8))
            + ']><rss><channel><title>&a7;</title></channel></rss>').encode()
    t = time.monotonic()
    for doc in (bomb, b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd"><rss/>'):
        try:
            tf.parse_feed(doc)
        except tf.FeedError as e:
            assert "forbidden" in str(e)
        else:
            raise AssertionError("a DTD was accepted")
    assert time.monotonic() - t < 1.0


def test_oversized_feed_is_limit_exceeded() -> None:
    try:
        tf.parse_feed(b" " * (tf.MAX_FEED_BYTES + 1))
    except IndexguardError as e:
        assert "exceeds" in str(e)
    else:
        raise AssertionError("oversized feed accepted")


@SETTINGS
@given(st.text(max_size=300), st.binary(max_size=300))
def test_signature_header_never_crashes(header: str, body: bytes) -> None:
    with contextlib.suppress(WebhookVerificationError):
        verify("secret", body, header, now=0)


@SETTINGS
@given(st.text(max_size=500))
def test_query_guard_never_crashes(query_string: str) -> None:
    guard = QueryGuard(SCREENER)
    blocked = guard.check("/search", query_string, "xx")
    if blocked is not None:
        assert blocked.status in (200, 400)


def test_unknown_xml_encoding_is_a_clear_error() -> None:
    # Found by the mutation test above: ElementTree raised LookupError for an unknown encoding name.
    try:
        tf.parse_feed(b'<?xml version="1.0" encoding="AUTF-8"?><rss version="2.0"><channel/></rss>')
    except tf.FeedError as e:
        assert "XML declaration" in str(e)
    else:
        raise AssertionError("an unknown encoding must be refused")
