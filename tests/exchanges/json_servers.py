"""Local servers shaped like StopNCII's FetchHashes and ThreatExchange's /threat_updates (JSON), as the
`threatexchange` library's clients call them (its own tests and clients show the shapes)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Handler = Callable[[str, dict[str, list[str]], dict[str, str]], tuple[int, Any]]


def serve_json(handle: Handler) -> tuple[ThreadingHTTPServer, str]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *_a: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            code, body = handle(url.path, parse_qs(url.query), {k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@dataclass
class StopNciiState:
    subscription_key: str
    function_key: str
    page_size: int = 2
    records: list[dict[str, Any]] = field(default_factory=list)  # StopNCIIHashRecord JSON
    requests: list[dict[str, list[str]]] = field(default_factory=list)

    def handle(self, path: str, q: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        self.requests.append(q)
        if (
            headers.get("ocp-apim-subscription-key") != self.subscription_key
            or headers.get("x-functions-key") != self.function_key
        ):
            return 401, {"statusCode": 401, "message": "Access denied due to invalid subscription key."}
        if path != "/FetchHashes":
            return 404, {"message": "not found"}
        start = int(q["startTimestamp"][0])
        offset = int(q.get("nextPageToken", ["0"])[0])
        rows = sorted((r for r in self.records if r["lastModtimestamp"] >= start), key=lambda r: r["lastModtimestamp"])
        page = rows[offset : offset + self.page_size]
        more = offset + self.page_size < len(rows)
        next_ts = max((r["lastModtimestamp"] for r in rows), default=start - 1) + 1
        return 200, {
            "count": len(page),
            "nextPageToken": str(offset + self.page_size) if more else None,
            "nextSetTimestamp": next_ts,
            "hasMoreRecords": more,
            "hashRecords": page,
        }


@dataclass
class ThreatExchangeState:
    token: str
    privacy_group: int
    page_size: int = 2
    updates: list[dict[str, Any]] = field(default_factory=list)  # threat_updates JSON
    requests: list[str] = field(default_factory=list)
    base: str = ""

    def handle(self, path: str, q: dict[str, list[str]], _headers: dict[str, str]) -> tuple[int, Any]:
        self.requests.append(path)
        if q.get("access_token", [""])[0] != self.token:
            return 400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
        if path.rstrip("/") != f"/{self.privacy_group}/threat_updates":
            return 404, {"error": {"message": "Unknown path"}}
        start = int(q.get("start_time", ["0"])[0] or 0)
        offset = int(q.get("after", ["0"])[0])
        rows = sorted((u for u in self.updates if int(u["last_updated"]) >= start), key=lambda u: u["last_updated"])
        page = rows[offset : offset + self.page_size]
        body: dict[str, Any] = {"data": page}
        if offset + self.page_size < len(rows):
            after = offset + self.page_size
            body["paging"] = {
                "next": f"{self.base}/{self.privacy_group}/threat_updates/?access_token={self.token}"
                f"&start_time={start}&after={after}"
            }
        return 200, body
