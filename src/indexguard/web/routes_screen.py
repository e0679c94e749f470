"""POST /v1/query, /v1/listings, /v1/torrents, /v1/nzbs, /v1/images, /v1/batch; GET /v1/items/{id}."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from indexguard.cases import recording
from indexguard.cases.webhooks import notifier
from indexguard.screen.item import Item, ItemError
from indexguard.settings import Settings
from indexguard.store import records
from indexguard.store.accounts import Principal
from indexguard.web import deterrence_view, screening
from indexguard.web.auth import require
from indexguard.web.deps import Services, client_address, live_state, services
from indexguard.web.inputs import CheckedModel, InputProblem, TooLarge, check_item, check_text, refuse, walk
from indexguard.web.live import LiveState

router = APIRouter(prefix="/v1", tags=["screening"])
Screen = Annotated[Principal, Depends(require("screen"))]
ItemId = Field(default="", max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")
Text = Field(default=None, max_length=65_536)


class QueryIn(CheckedModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(max_length=8_192, description="The search query. Never stored, never logged.")
    id: str = ItemId
    session: str | None = Field(
        default=None, max_length=512,
        description="The site's opaque session reference, for counting outcomes; only a daily keyed hash is kept.",
    )
    lang: str | None = Field(default=None, max_length=35, description="Language of the warning; else Accept-Language")
    country: str | None = Field(default=None, pattern="^[A-Za-z]{2}$", description="Visitor's country, for help links")


class ListingIn(CheckedModel):
    """A listing: the JSON item of DESIGN.md (hashes may be precomputed, so no image need be sent)."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: str = Field(default="listing", pattern="^(listing|url|query)$")
    title: str | None = Text
    text: str | None = Text
    description: str | None = Text
    files: list[str] = Field(default_factory=list, max_length=100_000)
    magnet: str | None = Field(default=None, max_length=65_536)
    url: str | None = Field(default=None, max_length=8_192)
    urls: list[str] = Field(default_factory=list, max_length=10_000)
    pdq: list[str] | str | None = None
    md5: list[str] | str | None = None
    sha1: list[str] | str | None = None
    sha256: list[str] | str | None = None
    infohash: list[str] | str | None = None


class BatchIn(BaseModel):
    items: list[dict[str, Any]] = Field(description="Items as for /v1/listings (any kind but file uploads).")


class DecisionOut(BaseModel):
    """The Decision of DESIGN.md, plus `lists` (the list versions that made it)."""

    model_config = ConfigDict(extra="allow")
    id: str
    action: str
    reasons: list[dict[str, Any]]
    canonicalizer: str
    lists: dict[str, str]


def _client_hash(svc: Services, request: Request, p: Principal) -> str:
    return svc.cipher.keyed_hash("client", f"{p.name}|{client_address(request)}")


async def _finish(
    request: Request, state: LiveState, results: list[screening.Screened], endpoint: str, started: float, track: bool
) -> None:
    svc = services(request)
    screening.observe(svc.metrics, endpoint, started, results)
    if state.shadows:
        await svc.pool.run(screening.compare_shadows, svc.live, state, results)
    keep = [r for r in results if r.decision.action != "allow" or track]
    if keep:
        ch = _client_hash(svc, request, request.state.principal)
        recs = [screening.to_screening(r, state.versions, ch, svc.url_keys) for r in keep]
        if track and svc.listings is not None:  # durable before the answer, group-committed
            await svc.listings.write(recs)
        elif track:  # the item's state (and the deny set) must be current as soon as the caller has the answer
            await run_in_threadpool(
                recording.record, svc.sessions, recs, track_items=True, deny=svc.live.deny,
                notify=notifier(svc.settings),
            )  # fmt: skip
        else:
            svc.recorder.submit(recs)


# A listing with at most this many characters of text (after normalisation) is screened on the
# event loop: its screening takes well under a millisecond, less than the hop to the pool and back.
INLINE_CHARS = 2_048


async def _single(
    request: Request,
    item: Item,
    endpoint: str,
    track: bool,
    present: deterrence_view.Present | None = None,
    inline: bool = False,
) -> JSONResponse:
    started = time.perf_counter()
    state = live_state(request)
    if item.kind == "query" or inline:  # small: cheaper inline than a thread hop
        result = screening.screen_one(state, item)
    else:
        result = await services(request).pool.run(_screen_checked, state, item, services(request).settings)
    await _finish(request, state, [result], endpoint, started, track)
    out = screening.decision_json(result, state.versions)
    if present is not None:
        present(out)
    return JSONResponse(out)


def _screen_checked(state: LiveState, item: Item, settings: Settings) -> screening.Screened:
    """Screen in the pool; an image is refused by its declared size before a pixel is decoded."""
    if item.kind == "image" and item.raw is not None:
        _check_pixels(item.raw, settings.max_image_pixels)
    return screening.screen_one(state, item)


def _check_pixels(data: bytes, limit: int) -> None:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Exception:
        return  # not an image Pillow can open: the screener holds it for review as unparseable
    if w * h > limit:
        raise HTTPException(413, f"image of {w}x{h} pixels exceeds the limit of {limit} pixels")


_DECISION: dict[int | str, dict[str, Any]] = {200: {"model": DecisionOut, "description": "The Decision"}}


@router.post("/query", responses=_DECISION, summary="Screen a search query")
async def query(body: QueryIn, request: Request, _p: Screen) -> JSONResponse:
    limit = services(request).settings.max_query_chars
    try:
        check_text("q", body.q, limit)
    except InputProblem as e:
        raise refuse(e) from None
    present = deterrence_view.presenter(request, body.session, body.lang, body.country)
    return await _single(request, Item(id=body.id, kind="query", text=body.q), "query", False, present)


@router.post("/listings", responses=_DECISION, summary="Screen a listing given as JSON")
async def listing(body: ListingIn, request: Request, _p: Screen) -> JSONResponse:
    st = services(request).settings
    obj = body.model_dump(exclude_none=True)
    try:
        size = check_item(obj, "item", st.max_field_chars, st.max_list_entries)
        if size > st.max_item_chars:
            raise TooLarge(f"item: more than {st.max_item_chars} characters of text once normalised")
        item = Item.from_json(obj)
    except InputProblem as e:
        raise refuse(e) from None
    except ItemError as e:
        raise HTTPException(422, str(e)) from None
    return await _single(request, item, "listing", track=True, inline=size <= INLINE_CHARS)


async def _upload(request: Request, file: UploadFile, item_id: str, kind: str) -> JSONResponse:
    limit = services(request).settings.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"file larger than {limit} bytes")
    if not data:
        raise HTTPException(422, "the uploaded file is empty")
    item = Item(id=item_id, kind=kind, raw=data)  # type: ignore[arg-type]
    return await _single(request, item, kind, track=True)


UploadId = Annotated[str, Form(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]


@router.post("/torrents", responses=_DECISION, summary="Screen an uploaded .torrent file")
async def torrent(request: Request, _p: Screen, file: Annotated[UploadFile, File()], id: UploadId) -> JSONResponse:
    return await _upload(request, file, id, "torrent")


@router.post("/nzbs", responses=_DECISION, summary="Screen an uploaded NZB file")
async def nzb(request: Request, _p: Screen, file: Annotated[UploadFile, File()], id: UploadId) -> JSONResponse:
    return await _upload(request, file, id, "nzb")


@router.post("/images", responses=_DECISION, summary="Screen an uploaded image (hashed, never stored)")
async def image(request: Request, _p: Screen, file: Annotated[UploadFile, File()], id: UploadId) -> JSONResponse:
    return await _upload(request, file, id, "image")


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BatchIn.model_json_schema()}},
    }
}


@router.post(
    "/batch",
    summary="Screen many items; Decisions come back in input order",
    openapi_extra=_BATCH_BODY,
    responses={200: {"description": '{"lists": {name: version}, "decisions": [Decision, ...]}'}},
)
async def batch(request: Request, _p: Screen) -> JSONResponse:
    svc = services(request)
    started = time.perf_counter()
    body = await request.body()
    if len(body) > svc.settings.max_batch_bytes:
        raise HTTPException(413, f"body larger than {svc.settings.max_batch_bytes} bytes")
    state = live_state(request)
    results = await svc.pool.run(_batch_screen, state, body, svc.settings)
    await _finish(request, state, results, "batch", started, track=False)
    decisions = [screening.decision_json(r, None) for r in results]
    return JSONResponse({"lists": state.versions, "decisions": decisions})


def _batch_screen(state: LiveState, body: bytes, settings: Settings) -> list[screening.Screened]:
    return screening.screen_batch(state, _batch_items(body, settings))


def _batch_items(body: bytes, settings: Settings) -> list[Item]:
    try:
        doc = json.loads(body)
    except RecursionError:
        raise HTTPException(422, "body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "body is not valid JSON") from None
    raw = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(raw, list):
        raise HTTPException(422, 'body must be {"items": [...]}')
    if len(raw) > settings.max_batch_items:
        raise HTTPException(413, f"at most {settings.max_batch_items} items per batch")
    items = []
    budget = settings.max_batch_chars
    for i, obj in enumerate(raw):
        try:
            if not isinstance(obj, dict):
                walk(obj, f"items[{i}]")
            else:
                budget -= check_item(obj, f"items[{i}]", settings.max_field_chars, settings.max_list_entries)
            if budget < 0:
                raise TooLarge(f"items: more than {settings.max_batch_chars} characters of text once normalised")
            it = Item.from_json(obj, default_id=str(i))
        except InputProblem as e:
            raise refuse(e) from None
        except ItemError as e:
            raise HTTPException(422, f"items[{i}]: {e}") from None
        if it.kind in ("torrent", "nzb", "image"):
            raise HTTPException(422, f"items[{i}]: upload {it.kind} files to their own endpoint")
        if len(it.id) > records.MAX_ID or not it.id.isprintable():
            raise HTTPException(422, f"items[{i}]: 'id' must be at most 256 printable characters")
        items.append(it)
    return items


@router.get("/items/{item_id}", summary="The current state of an item: allowed, hidden or removed")
def item_state(item_id: str, request: Request, _p: Screen) -> dict[str, Any]:
    with services(request).sessions() as s:
        out = records.item_state(s, item_id)
    if out is None:
        raise HTTPException(404, "no record of this item (never screened singly, or allowed within a batch)")
    return out
