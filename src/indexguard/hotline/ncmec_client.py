"""HTTP client for NCMEC's CyberTipline Reporting API (`ispws`).

Endpoints (HTTP basic auth, XML answers `reportResponse` / `reportDoneResponse`):
`GET /status`, `POST /submit` (report XML) -> reportId, `POST /upload` (multipart: `id`, `file`)
-> fileId + MD5, `POST /fileinfo` (fileDetails XML), `POST /finish` (form `id`) -> reportDoneResponse,
`POST /retract` (form `id`). Only `finish` files a report; an unfinished one can be retracted, and
NCMEC deletes it by itself 24 hours after it was opened or 1 hour after its last change, whichever
is later. The PyPI client `ncmec-cybertip` needs Python 3.13 (this project runs on 3.11), so this is
our own; it follows the same documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from defusedxml import ElementTree as SafeET

from indexguard.errors import IndexguardError

TEST_URL = "https://exttest.cybertip.org/ispws"
PRODUCTION_URL = "https://report.cybertip.org/ispws"
_XML = {"Content-Type": "text/xml; charset=utf-8"}
MAX_RESPONSE = 1 << 20

# Documented response codes (non-exhaustive).
SERVER_ERROR, SAVE_FAILED, UPLOAD_FAILED, FILE_UPLOAD_FAILED, UPDATE_FAILED = 1000, 1100, 1110, 1111, 1300
RESOURCE_NOT_FOUND = 1210
REPORT_DOES_NOT_EXIST, FILE_DOES_NOT_EXIST = 5001, 5002
ALREADY_RETRACTED, ALREADY_FINISHED = 5101, 5102
_RETRYABLE_CODES = {SERVER_ERROR, SAVE_FAILED, UPLOAD_FAILED, FILE_UPLOAD_FAILED, UPDATE_FAILED}


class NcmecError(IndexguardError):
    """A failed call. `code` is NCMEC's response code, or the HTTP status, or 0 for a network error."""

    def __init__(self, message: str, code: int = 0, retryable: bool = False, request_id: str = "") -> None:
        self.code = code
        self.retryable = retryable
        self.request_id = request_id
        suffix = f" (Request-ID {request_id})" if request_id else ""
        super().__init__(message + suffix)


@dataclass(frozen=True)
class Upload:
    file_id: str
    md5: str


@dataclass(frozen=True)
class Finished:
    report_id: int
    file_ids: list[str]


class NcmecClient:
    def __init__(
        self,
        username: str,
        password: str,
        base_url: str = TEST_URL,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(auth=(username, password), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NcmecClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def status(self) -> str:
        """Checks connectivity and credentials; returns the server's description ("Remote User : ...")."""
        return self._parse(self._call("GET", "/status"), "reportResponse").get("responseDescription", "")

    def submit(self, report_xml: bytes) -> int:
        fields = self._parse(self._call("POST", "/submit", content=report_xml, headers=_XML), "reportResponse")
        return _int(fields.get("reportId"), "submit: answer without a reportId")

    def upload(self, report_id: int, filename: str, data: bytes) -> Upload:
        resp = self._call("POST", "/upload", data={"id": str(report_id)}, files={"file": (filename, data)})
        fields = self._parse(resp, "reportResponse")
        if not fields.get("fileId"):
            raise NcmecError("upload: answer without a fileId")
        return Upload(fields["fileId"], fields.get("hash", ""))

    def file_info(self, details_xml: bytes) -> None:
        self._parse(self._call("POST", "/fileinfo", content=details_xml, headers=_XML), "reportResponse")

    def finish(self, report_id: int) -> Finished:
        resp = self._call("POST", "/finish", data={"id": str(report_id)})
        root = self._root(resp)
        code = _int(root.findtext("responseCode"), "finish: answer without a responseCode")
        if code != 0:
            raise _coded(code, root.findtext("responseDescription") or "finish failed", resp)
        ids = [e.text or "" for e in root.findall("files/fileId")]
        return Finished(_int(root.findtext("reportId"), "finish: answer without a reportId"), ids)

    def retract(self, report_id: int) -> None:
        self._parse(self._call("POST", "/retract", data={"id": str(report_id)}), "reportResponse")

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, self.base_url + path, **kw)
        except httpx.HTTPError as e:
            raise NcmecError(f"{path}: {type(e).__name__}: {e}", retryable=True) from None
        rid = resp.headers.get("Request-ID", "")
        if resp.status_code in (401, 403):
            raise NcmecError(f"{path}: credentials refused (HTTP {resp.status_code})", resp.status_code, False, rid)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise NcmecError(f"{path}: HTTP {resp.status_code}", resp.status_code, True, rid)
        if len(resp.content) > MAX_RESPONSE:
            raise NcmecError(f"{path}: answer larger than {MAX_RESPONSE} bytes", resp.status_code, True, rid)
        return resp

    def _root(self, resp: httpx.Response) -> Any:
        try:
            return SafeET.fromstring(resp.content)
        except Exception as e:  # defusedxml raises several types for malformed or hostile XML
            msg = f"{resp.request.url.path}: unreadable answer (HTTP {resp.status_code}, {type(e).__name__})"
            raise NcmecError(
                msg, resp.status_code, resp.status_code >= 500, resp.headers.get("Request-ID", "")
            ) from None

    def _parse(self, resp: httpx.Response, tag: str) -> dict[str, str]:
        root = self._root(resp)
        if root.tag != tag:
            raise NcmecError(f"{resp.request.url.path}: expected <{tag}>, got <{str(root.tag)[:40]}>", resp.status_code)
        fields = {child.tag: (child.text or "").strip() for child in root}
        code = _int(fields.get("responseCode"), f"{resp.request.url.path}: answer without a responseCode")
        if code != 0:
            raise _coded(code, fields.get("responseDescription", ""), resp)
        return fields


def _coded(code: int, description: str, resp: httpx.Response) -> NcmecError:
    path = resp.request.url.path
    return NcmecError(
        f"{path}: NCMEC response {code}: {description[:300]}",
        code,
        code in _RETRYABLE_CODES,
        resp.headers.get("Request-ID", ""),
    )


def _int(v: str | None, msg: str) -> int:
    try:
        return int(str(v).strip())
    except ValueError:
        raise NcmecError(msg) from None
