"""A local server shaped like NCMEC's hash-sharing API v2 (GET /v2/entries, XML, Basic auth, paging by `next`).

The response shapes follow NCMEC's published documentation as the `threatexchange` library's own tests
record them (exchanges/clients/ncmec/tests/data.py): <queryResult> with <images>/<videos> holding
<image>/<video> and <deletedImage>/<deletedVideo>, a maxTimestamp attribute, <paging><next>.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse
from xml.sax.saxutils import escape

_FMT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class Entry:
    id: str
    member: int
    ts: int
    kind: str = "image"  # image | video
    classification: str | None = "A1"
    fingerprints: dict[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass
class NcmecState:
    user: str
    password: str
    page_size: int = 2
    entries: dict[tuple[int, str], Entry] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer before serving again
    requests: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)

    def put(self, e: Entry) -> None:
        self.entries[(e.member, e.id)] = e

    def delete(self, member: int, entry_id: str, ts: int) -> None:
        old = self.entries[(member, entry_id)]
        self.put(Entry(entry_id, member, ts, old.kind, None, {}, deleted=True))


def _ts(text: str) -> int:
    # The client writes local time with a Z; read it back the same way so ranges line up.
    return int(datetime.strptime(text, _FMT).timestamp())


def _xml(e: Entry) -> str:
    tag = ("deleted" + e.kind.capitalize()) if e.deleted else e.kind
    parts = [
        f'<member id="{e.member}">Member {e.member}</member>',
        f"<timestamp>{datetime.fromtimestamp(e.ts).strftime(_FMT)}</timestamp>",
        f"<id>{escape(e.id)}</id>",
    ]
    if not e.deleted:
        if e.classification:
            parts.append(f"<classification>{e.classification}</classification>")
        fps = "".join(f"<{k}>{v}</{k}>" for k, v in e.fingerprints.items())
        parts.append(f"<fingerprints>{fps}</fingerprints>")
    return f"<{tag}>{''.join(parts)}</{tag}>"


def _page(state: NcmecState, q: dict[str, list[str]]) -> str:
    start_ts, end_ts = _ts(q["from"][0]), _ts(q["to"][0])
    start = int(q.get("start", ["1"])[0])
    matching = sorted((e for e in state.entries.values() if start_ts <= e.ts <= end_ts), key=lambda e: (e.member, e.id))
    page = matching[start - 1 : start - 1 + state.page_size]
    body = []
    for kind, group in (("image", "images"), ("video", "videos")):
        items = [e for e in page if e.kind == kind]
        if not items:
            body.append(f'<{group} count="0"/>')
            continue
        max_ts = datetime.fromtimestamp(max(e.ts for e in items)).strftime(_FMT)
        body.append(
            f'<{group} count="{len(items)}" maxTimestamp="{max_ts}">{"".join(_xml(e) for e in items)}</{group}>'
        )
    nxt = start + state.page_size
    if nxt <= len(matching):
        params = urlencode(
            {"from": q["from"][0], "to": q["to"][0], "start": nxt, "size": state.page_size, "max": len(matching)}
        )
        body.append(f"<paging><next>{escape('/v2/entries?' + params)}</next></paging>")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">{"".join(body)}</queryResult>'
    )


def serve(state: NcmecState) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_a: object) -> None:
            pass

        def _send(self, code: int, body: str, ctype: str = "application/xml") -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            state.requests.append(self.path)
            state.auth_headers.append(self.headers.get("Authorization", ""))
            want = "Basic " + base64.b64encode(f"{state.user}:{state.password}".encode()).decode()
            if self.headers.get("Authorization") != want:
                self._send(401, "<error>unauthorized</error>")
                return
            if state.fail_next:
                self._send(state.fail_next.pop(0), "<error>try later</error>")
                return
            url = urlparse(self.path)
            if url.path != "/v2/entries":
                self._send(404, "<error>not found</error>")
                return
            self._send(200, _page(state, parse_qs(url.query)))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
