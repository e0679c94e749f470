"""A local stand-in for NCMEC's CyberTipline Reporting API, following its published documentation:
basic auth, `GET /status`, `POST /submit` (report XML, validated against the schema), `/upload`
(multipart `id` + `file`, answers fileId and MD5), `/fileinfo` (fileDetails XML, validated), `/finish`
(form `id`, answers reportDoneResponse), `/retract`; numeric response codes; unfinished reports
deleted 24 h after opening or 1 h after the last change, whichever is later.

Faults can be queued per endpoint: "http500" (refuse before doing anything), "code1000" (NCMEC server
error before doing anything), "lost" (do the work, then answer 500, so the caller cannot know).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import xmlschema


@dataclass
class FakeReport:
    id: int
    xml: bytes
    opened: datetime
    modified: datetime
    state: str = "open"  # open | finished | retracted | expired
    files: dict[str, dict[str, object]] = field(default_factory=dict)


class FakeNcmec:
    def __init__(self, xsd: Path, clock: Callable[[], datetime], user: str = "esp", password: str = "secret") -> None:
        self.schema = xmlschema.XMLSchema(str(xsd))
        self.clock = clock
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.reports: dict[int, FakeReport] = {}
        self.faults: dict[str, list[str]] = {}
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self._next = 4564654
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ispws"

    def start(self) -> FakeNcmec:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, path: str, *kinds: str) -> None:
        self.faults.setdefault(path, []).extend(kinds)

    def gone(self, rid: int) -> bool:
        with self.lock:
            return self._live(rid) is None

    def finished(self) -> list[FakeReport]:
        return [r for r in self.reports.values() if r.state == "finished"]

    # -- protocol ---------------------------------------------------------------------------

    def _live(self, rid: int) -> FakeReport | None:
        r = self.reports.get(rid)
        if r is None:
            return None
        if r.state == "open" and self.clock() >= max(r.opened + timedelta(hours=24), r.modified + timedelta(hours=1)):
            r.state = "expired"
        return None if r.state == "expired" else r

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if headers.get("authorization") != self.auth:
            return 401, b""
        with self.lock:
            self.calls.append(path)
            fault = self.faults.get(path, [])
            kind = fault.pop(0) if fault else ""
            if kind == "http500":
                return 500, b"busy"
            if kind == "code1000":
                return 200, _resp(1000, "Server error")
            code, out = self._dispatch(method, path, headers, body)
            return (500, b"lost") if kind == "lost" else (code, out)

    def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        if path == "/ispws/status" and method == "GET":
            return 200, _resp(0, "Remote User : esp")
        if method != "POST":
            return 405, b""
        if path == "/ispws/submit":
            return self._submit(body)
        if path == "/ispws/upload":
            return self._upload(headers.get("content-type", ""), body)
        if path == "/ispws/fileinfo":
            return self._fileinfo(body)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        rid = int(form.get("id", "0") or 0)
        if path == "/ispws/finish":
            return self._finish(rid)
        if path == "/ispws/retract":
            return self._retract(rid)
        return 404, b""

    def _submit(self, body: bytes) -> tuple[int, bytes]:
        errors = list(self.schema.iter_errors(body.decode("utf-8")))
        if errors or ET.fromstring(body).tag != "report":
            return 200, _resp(4100, f"Validation failed: {str(errors[0])[:200] if errors else 'not a report'}")
        rid, self._next = self._next, self._next + 1
        now = self.clock()
        self.reports[rid] = FakeReport(rid, body, now, now)
        return 200, _resp(0, "Success", rid)

    def _upload(self, ctype: str, body: bytes) -> tuple[int, bytes]:
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        parts = {p.get_param("name", header="content-disposition"): p for p in msg.iter_parts()}
        rid = int(str(parts["id"].get_content()).strip())
        report = self._live(rid)
        if report is None or report.state != "open":
            return 200, _resp(5001, "Report does not exist", rid)
        part = parts["file"]
        data = part.get_payload(decode=True)
        file_id = hashlib.md5(f"{rid}-{len(report.files)}".encode()).hexdigest()
        md5 = hashlib.md5(data).hexdigest()
        report.files[file_id] = {"name": part.get_filename(), "md5": md5, "size": len(data), "info": None}
        report.modified = self.clock()
        return 200, _resp(0, "Success", rid, file_id, md5)

    def _fileinfo(self, body: bytes) -> tuple[int, bytes]:
        errors = list(self.schema.iter_errors(body.decode("utf-8")))
        if errors:
            return 200, _resp(4100, f"Validation failed: {str(errors[0])[:200]}")
        root = ET.fromstring(body)
        rid, file_id = int(root.findtext("reportId") or 0), root.findtext("fileId") or ""
        report = self._live(rid)
        if report is None or report.state != "open":
            return 200, _resp(5001, "Report does not exist", rid)
        if file_id not in report.files:
            return 200, _resp(5002, "File does not exist", rid)
        report.files[file_id]["info"] = body
        report.modified = self.clock()
        return 200, _resp(0, "Success", rid)

    def _finish(self, rid: int) -> tuple[int, bytes]:
        r = self.reports.get(rid)
        if r is not None and r.state == "finished":
            return 200, _resp(5102, "Report already finished", rid)
        report = self._live(rid)
        if report is None or report.state != "open":
            return 200, _resp(5001 if report is None else 5101, "Report does not exist or was retracted", rid)
        report.state = "finished"
        ids = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        return 200, (
            f"<?xml version='1.0' encoding='UTF-8'?><reportDoneResponse><responseCode>0</responseCode>"
            f"<reportId>{rid}</reportId><files>{ids}</files></reportDoneResponse>"
        ).encode()

    def _retract(self, rid: int) -> tuple[int, bytes]:
        r = self.reports.get(rid)
        if r is not None and r.state == "finished":
            return 200, _resp(5102, "Report already finished", rid)
        if r is not None and r.state == "retracted":
            return 200, _resp(5101, "Report already retracted", rid)
        report = self._live(rid)
        if report is None:
            return 200, _resp(5001, "Report does not exist", rid)
        report.state = "retracted"
        return 200, _resp(0, "Success", rid)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                code, out = fake.handle(method, self.path, headers, body)
                self.send_response(code)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Request-ID", f"req-{len(fake.calls)}")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


def _resp(code: int, desc: str, rid: int | None = None, file_id: str | None = None, md5: str | None = None) -> bytes:
    parts = [f"<responseCode>{code}</responseCode><responseDescription>{escape(desc)}</responseDescription>"]
    if rid is not None:
        parts.append(f"<reportId>{rid}</reportId>")
    if file_id is not None:
        parts.append(f"<fileId>{file_id}</fileId><hash>{md5}</hash>")
    return ("<?xml version='1.0' encoding='UTF-8'?><reportResponse>" + "".join(parts) + "</reportResponse>").encode()
