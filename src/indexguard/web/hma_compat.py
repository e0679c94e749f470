"""An HMA-compatible API (Meta's Hasher-Matcher-Actioner): the same paths, parameters and JSON shapes,
mounted under a prefix (settings `hma_prefix`, default /hma) and behind indexguard's API keys.

Lookups run on the service's lookup path (`indexguard.web.lookup`: the live index, nothing recorded).
Errors are HMA's `{"message": ...}`. A URL given to hash or look up (HMA's `url=` form) is never
fetched: indexguard never fetches linked content, so that form answers 400 saying so.
See docs/hma-compat.md for the switch and every difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any

import pydantic
from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexguard.errors import IndexguardError, ParseError
from indexguard.formats.image import hash_image
from indexguard.screen.deny_set import DENY_LIST
from indexguard.store import audit, lists_repo
from indexguard.store.accounts import Principal
from indexguard.web import hma_banks, lookup
from indexguard.web.auth import require
from indexguard.web.deps import Services, services
from indexguard.web.hma_banks import HMA_TO_HASH_TYPE, BankError, content_id
from indexguard.web.live import LiveState

Screen = Annotated[Principal, Depends(require("screen"))]
Lists = Annotated[Principal, Depends(require("lists"))]
URL_REFUSED = (
    "indexguard never fetches URLs: upload the file (multipart/form-data) or send its hash (signal_type and signal)"
)
_PDQ = re.compile(r"^[0-9a-f]{64}$")
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_PYDANTIC = ".".join(pydantic.VERSION.split(".")[:2])
CONTENT_TYPES = {"photo": "pdq", "video": "video_md5"}  # what HMA hashes each upload with


def _json(doc: Any, status: int = 200) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")).encode(), status_code=status, media_type="application/json")


def _message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def validate_signal(signal_type: str, signal: str) -> str:
    """HMA's own checks: the signal type must exist; PDQ is 64 lowercase hex, MD5 is lowered first."""
    if signal_type not in HMA_TO_HASH_TYPE:
        raise BankError(400, f"No such SignalType '{signal_type}'")
    if signal_type == "pdq":
        if not _PDQ.match(signal):
            raise BankError(400, "invalid signal: invalid PDQ hash")
        return signal
    value = signal.strip().lower()
    if not _MD5.match(value):
        raise BankError(400, f"invalid signal: {signal!r} is not a valid MD5 hash")
    return value


def matches(state: LiveState, signal_type: str, signal: str, banks: set[str] | None) -> list[tuple[str, int, str]]:
    """(bank, bank_content_id, distance) for one signal, from the live index (issue 15's lookup path)."""
    value = validate_signal(signal_type, signal)
    found = lookup.lookup_hash(state, HMA_TO_HASH_TYPE[signal_type], value)
    out = []
    for m in found.matches:
        if m.list == DENY_LIST or (banks is not None and m.list not in banks):
            continue
        out.append((m.list, content_id(m.list, m.entry), str(m.distance) if m.distance is not None else "-"))
    return out


def by_bank(found: list[tuple[str, int, str]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for bank, cid, dist in found:
        out.setdefault(bank, []).append({"bank_content_id": cid, "distance": dist})
    return out


def _banks(param: str | None) -> set[str] | None:
    return set(param.split(",")) if param else None


def _state(request: Request) -> LiveState:
    state = services(request).live.state
    if state is None:
        raise BankError(503, "index not yet ready")
    return state


async def _upload(request: Request) -> tuple[str, bytes]:
    """The one uploaded file of a multipart form: (content type = field name, bytes)."""
    limit = services(request).settings.max_upload_bytes
    if int(request.headers.get("content-length") or 0) > limit + 64 * 1024:
        raise BankError(413, "Content too large")
    try:
        form = await request.form(max_files=2, max_fields=8)
    except Exception:
        raise BankError(400, "Missing multipart/form-data file upload") from None
    files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise BankError(400, "Missing multipart/form-data file upload")
    if len(files) > 1:
        raise BankError(400, "Only one file allowed per request")
    field, upload = files[0]
    if field not in CONTENT_TYPES:
        raise BankError(400, f"no such content_type: '{field}'")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise BankError(413, "Content too large")
    return field, data


def hash_upload(content_type: str, data: bytes) -> dict[str, str]:
    if content_type == "video":
        import hashlib

        return {"video_md5": hashlib.md5(data, usedforsecurity=False).hexdigest()}
    try:
        return {"pdq": hash_image(data).pdq}
    except ParseError as e:
        raise BankError(400, f"cannot hash the upload: {e}") from None


def make_app(svc: Services) -> FastAPI:
    """The HMA-compatible sub-application; `create_app` mounts it at `settings.hma_prefix`."""
    app = FastAPI(
        title="indexguard: HMA-compatible API",
        summary="Hasher-Matcher-Actioner's lookup, hashing and bank endpoints on indexguard's index.",
        version="0.1.0",
    )
    app.state.services = svc

    @app.exception_handler(BankError)
    async def _bank_error(_r: Request, e: BankError) -> JSONResponse:
        return _message(e.status, e.message)

    @app.exception_handler(IndexguardError)
    async def _ig_error(_r: Request, e: IndexguardError) -> JSONResponse:
        code = (
            404 if isinstance(e, lists_repo.ListNotFound) else 409 if isinstance(e, lists_repo.ListStateError) else 400
        )
        return _message(code, str(e))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_r: Request, e: StarletteHTTPException) -> JSONResponse:
        resp = _message(e.status_code, str(e.detail))
        if e.headers:
            resp.headers.update(e.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        # HMA (flask-openapi3) answers a request that fails its schema with 422 and pydantic's errors.
        errors = [
            {
                "type": err.get("type", "value_error"),
                "loc": [x for x in err.get("loc", ()) if x not in ("query", "path", "body")],
                "msg": err.get("msg", "invalid"),
                "input": dict(request.query_params),
                "url": f"https://errors.pydantic.dev/{_PYDANTIC}/v/{err.get('type', 'value_error')}",
            }
            for err in e.errors()
        ]
        return JSONResponse(errors, status_code=422)

    _status_routes(app)
    _matching_routes(app)
    _hashing_routes(app)
    _curation_routes(app)
    return app


def _status_routes(app: FastAPI) -> None:
    @app.get("/status", response_class=PlainTextResponse, summary="Ready when the index is loaded")
    def status(request: Request) -> PlainTextResponse:
        if services(request).live.state is None:
            return PlainTextResponse("INDEX-NOT-LOADED", status_code=503)
        return PlainTextResponse("I-AM-ALIVE")

    @app.get("/status/live", response_class=PlainTextResponse, summary="The process is up")
    def status_live() -> PlainTextResponse:
        return PlainTextResponse("I-AM-ALIVE")


def _matching_routes(app: FastAPI) -> None:
    @app.get("/m/raw_lookup", summary="Raw hash lookup (HMA /m/raw_lookup)")
    async def raw_lookup(
        request: Request,
        _p: Screen,
        signal: str,
        signal_type: str,
        banks: str | None = None,
        include_distance: bool = False,
    ) -> Response:
        found = matches(_state(request), signal_type, signal, _banks(banks))
        if include_distance:
            return _json({"matches": [{"bank_content_id": c, "distance": d} for _, c, d in found]})
        return _json({"matches": [c for _, c, _ in found]})

    @app.get("/m/lookup", summary="Hash lookup by bank (HMA /m/lookup); the url= form is refused")
    async def lookup_get(
        request: Request,
        _p: Screen,
        url: str | None = None,
        signal: str | None = None,
        signal_type: str | None = None,
        banks: str | None = None,
        content_type: str | None = None,
        types: str | None = None,
        seed: str | None = None,
        bypass_coinflip: bool = False,
    ) -> Response:
        if url:
            raise BankError(400, URL_REFUSED)
        if not signal or not signal_type:
            raise BankError(400, "Either url or both signal and signal_type are required")
        return _json(by_bank(matches(_state(request), signal_type, signal, _banks(banks))))

    @app.post("/m/lookup", summary="Look up an uploaded file (HMA POST /m/lookup, multipart: photo= or video=)")
    async def lookup_post(request: Request, _p: Screen, banks: str | None = None) -> Response:
        content_type, data = await _upload(request)
        hashes = await run_in_threadpool(hash_upload, content_type, data)
        state = _state(request)
        return _json({st: by_bank(matches(state, st, h, _banks(banks))) for st, h in hashes.items()})


def _hashing_routes(app: FastAPI) -> None:
    @app.get("/h/hash", summary="HMA hashes a URL here; indexguard never fetches URLs (400)")
    async def hash_url(_p: Screen, url: Annotated[str | None, Query()] = None) -> Response:
        raise BankError(400, URL_REFUSED)

    @app.post("/h/hash", summary="Hash an uploaded file (multipart: photo= or video=)")
    async def hash_post(request: Request, _p: Screen) -> Response:
        content_type, data = await _upload(request)
        return _json(await run_in_threadpool(hash_upload, content_type, data))


def _in_db(request: Request, fn: Callable[..., Any], *args: Any) -> Any:
    svc = services(request)
    with svc.sessions() as s, s.begin():
        return fn(s, *args)


def _changed(
    request: Request, p: Principal, action: str, bank: str, detail: Callable[[Any], dict[str, Any]],
    fn: Callable[..., Any], *args: Any,
) -> Any:
    """`fn(session, *args)` and its audit row (detail from fn's result) in one transaction."""
    svc = services(request)
    with svc.sessions() as s, s.begin():
        out = fn(s, *args)
        audit.append_in(s, p.name, action, bank, detail(out))
    return out


def _curation_routes(app: FastAPI) -> None:
    @app.get("/c/banks", summary="All banks (hash lists)")
    async def banks_index(request: Request, _p: Lists) -> Response:
        found = await run_in_threadpool(_in_db, request, hma_banks.banks)
        return _json([b.to_json() for b in found])

    @app.get("/c/bank/{bank_name}", summary="One bank")
    async def bank_show(request: Request, _p: Lists, bank_name: str) -> Response:
        return _json((await run_in_threadpool(_in_db, request, hma_banks.bank, bank_name)).to_json())

    @app.post("/c/banks", summary="Create a bank (an empty hash list, live when enabled)")
    async def bank_create(request: Request, p: Lists) -> Response:
        body = await _json_body(request)
        name = body.get("name")
        if not isinstance(name, str):
            raise BankError(400, "name: Field required")
        ratio = _ratio(body, default=1.0)
        cipher = services(request).cipher
        b = await run_in_threadpool(_changed, request, p, "hma.bank.create", name,
                                    lambda _b: {"matching_enabled_ratio": ratio},
                                    hma_banks.create, cipher, name, ratio, p.name)  # fmt: skip
        return _json(b.to_json(), 201)

    @app.put("/c/bank/{bank_name}", summary="Switch a bank on or off (enabled / enabled_ratio 0 or 1)")
    async def bank_update(request: Request, p: Lists, bank_name: str) -> Response:
        body = await _json_body(request)
        if body.get("name") not in (None, bank_name):
            raise BankError(400, "renaming a bank is not supported: lists keep their name and history")
        b = await run_in_threadpool(_in_db, request, hma_banks.bank, bank_name)
        ratio = _ratio(body, default=1.0 if b.live else 0.0)
        b = await run_in_threadpool(_changed, request, p, "hma.bank.update", bank_name,
                                    lambda _b: {"matching_enabled_ratio": ratio},
                                    hma_banks.set_enabled, bank_name, ratio)  # fmt: skip
        return _json(b.to_json())

    @app.delete("/c/bank/{bank_name}", summary="Take a bank out of matching (its versions are kept)")
    async def bank_delete(request: Request, p: Lists, bank_name: str) -> Response:
        def off(s: Any) -> None:
            if any(b.name == bank_name and b.live for b in hma_banks.banks(s)):
                hma_banks.set_enabled(s, bank_name, 0.0)

        await run_in_threadpool(_changed, request, p, "hma.bank.delete", bank_name, lambda _x: {}, off)
        return _json({"message": "Done"})

    _content_routes(app)


def _content_routes(app: FastAPI) -> None:
    @app.get("/c/bank/{bank_name}/content/{content_id}", summary="One content item (never its hashes)")
    async def content_get(
        request: Request, _p: Lists, bank_name: str, content_id: int, include_signals: str = "false"
    ) -> Response:
        if include_signals.lower() == "true":
            raise BankError(403, "indexguard never returns bank hashes over the API (reveal: console, admin, audited)")
        cipher = services(request).cipher

        def get(s: Any) -> dict[str, Any]:
            b = hma_banks.bank(s, bank_name)
            e = hma_banks.find(hma_banks.current(s, cipher, bank_name), content_id)
            if e is None:
                raise BankError(404, f"content '{content_id}' not found")
            return _content_json(content_id, e.enabled, b)

        return _json(await run_in_threadpool(_in_db, request, get))

    @app.post("/c/bank/{bank_name}/content", summary="Add an uploaded file to a bank (the url= form is refused)")
    async def content_add(request: Request, p: Lists, bank_name: str, url: str | None = None) -> Response:
        if url:
            raise BankError(400, URL_REFUSED)
        content_type, data = await _upload(request)
        signals = await run_in_threadpool(hash_upload, content_type, data)
        form = await request.form()
        note = form.get("note")
        return await _add(request, p, bank_name, signals, note if isinstance(note, str) else None)

    @app.post("/c/bank/{bank_name}/signal", summary="Add hashes to a bank directly ({signal_type: hash})")
    async def signal_add(request: Request, p: Lists, bank_name: str) -> Response:
        body = await _json_body(request)
        note = body.pop("note", None)
        if note is not None and (not isinstance(note, str) or len(note) > 255):
            raise BankError(400, "note must be a string of at most 255 characters")
        if not body:
            raise BankError(400, "No signals given")
        signals = {}
        for name, value in body.items():
            if name not in HMA_TO_HASH_TYPE:
                raise BankError(400, f"No such signal type {name}")
            try:
                signals[name] = validate_signal(name, str(value))
            except BankError as e:
                raise BankError(400, f"Invalid {name} signal: {e.message.removeprefix('invalid signal: ')}") from None
        return await _add(request, p, bank_name, signals, note)

    @app.put("/c/bank/{bank_name}/content/{content_id}", summary="Switch content on/off (disable_until_ts 0 or 1)")
    async def content_update(request: Request, p: Lists, bank_name: str, content_id: int) -> Response:
        body = await _json_body(request)
        ts = body.get("disable_until_ts")
        if ts is None:
            raise BankError(400, "disable_until_ts is required")
        try:
            ts = int(ts)
        except (TypeError, ValueError):
            raise BankError(400, f"Invalid int: '{ts}'") from None
        if ts < 0:
            raise BankError(400, "disable_until_ts must be a non-negative integer")
        enabled = ts == 1  # 0: off; a future time: off (indexguard does not switch it back by itself)
        cipher = services(request).cipher

        def put(s: Any) -> dict[str, Any]:
            b = hma_banks.bank(s, bank_name)
            e = hma_banks.set_content_enabled(s, cipher, bank_name, content_id, enabled, p.name)
            return {**_content_json(content_id, e.enabled, b), "collab_metadata": {}, "user_metadata": None,
                    "note": None}  # fmt: skip

        out = await run_in_threadpool(_changed, request, p, "hma.content.update", bank_name,
                                      lambda _o: {"content_id": content_id, "enabled": enabled}, put)  # fmt: skip
        return _json(out)

    @app.delete("/c/bank/{bank_name}/content/{content_id}", summary="Remove content from a bank")
    async def content_delete(request: Request, p: Lists, bank_name: str, content_id: int) -> Response:
        cipher = services(request).cipher
        n = await run_in_threadpool(_changed, request, p, "hma.content.remove", bank_name,
                                    lambda n: {"content_id": content_id, "removed": n},
                                    hma_banks.remove, cipher, bank_name, content_id, p.name)  # fmt: skip
        return _json({"deleted": n})

    @app.get("/c/signal_type", summary="Signal types indexguard matches over this API")
    def signal_types(_p: Lists) -> Response:
        return _json([{"name": n, "enabled_ratio": 1.0} for n in HMA_TO_HASH_TYPE])

    @app.get("/c/content_type", summary="Content types indexguard hashes over this API")
    def content_types(_p: Lists) -> Response:
        return _json([{"name": n, "enabled": True} for n in CONTENT_TYPES])


def _content_json(cid: int, enabled: bool, b: hma_banks.Bank) -> dict[str, Any]:
    return {"id": cid, "disable_until_ts": 1 if enabled else 0, "original_media_uri": None, "bank": b.to_json()}


async def _add(request: Request, p: Principal, bank_name: str, signals: dict[str, str], note: str | None) -> Response:
    cipher = services(request).cipher
    cid = await run_in_threadpool(_changed, request, p, "hma.content.add", bank_name,
                                  lambda cid: {"content_id": cid, "types": sorted(signals)},
                                  hma_banks.add, cipher, bank_name, signals, note, p.name)  # fmt: skip
    return _json({"id": cid, "signals": signals})


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BankError(400, "Request input was not a dict") from None
    if not isinstance(body, dict):
        raise BankError(400, "Request input was not a dict")
    return body


def _ratio(body: dict[str, Any], default: float) -> float:
    if body.get("enabled_ratio") is not None:
        try:
            return float(body["enabled_ratio"])
        except (TypeError, ValueError):
            raise BankError(400, "enabled_ratio must be a number") from None
    if body.get("enabled") is not None:
        return 1.0 if bool(body["enabled"]) else 0.0
    return default
