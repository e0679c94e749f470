"""GET /v1/lookup (one hash) and POST /v1/lookup (one item): what matches now, nothing recorded.

The hot path of sites that check at upload and act later: no database round trip, no audit, no
decision record, no case; the API key is checked against the worker's key cache.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from indexguard.screen.item import Item, ItemError
from indexguard.store.accounts import Principal
from indexguard.web import lookup
from indexguard.web.auth import require
from indexguard.web.deps import live_state, services

router = APIRouter(prefix="/v1", tags=["lookup"])
Screen = Annotated[Principal, Depends(require("screen"))]
_MAX_ITEM_BYTES = 1024 * 1024


def _json(doc: dict[str, Any]) -> Response:
    return Response(json.dumps(doc, separators=(",", ":")).encode(), media_type="application/json")


@router.get(
    "/lookup",
    summary="Look up one hash: every live list entry it matches (PDQ within the bank's threshold)",
    responses={200: {"description": '{"type", "action", "matches": [{list, list_version, entry, category, '
                                    'severity, distance}]}'}},
)  # fmt: skip
async def lookup_hash(
    request: Request,
    _p: Screen,
    hash_type: Annotated[str, Query(alias="type", max_length=32, description="pdq, md5, sha1, sha256, infohash...")],
    value: Annotated[str, Query(alias="hash", max_length=128, description="The hash, hex")],
) -> Response:
    state = live_state(request)
    try:
        found = lookup.lookup_hash(state, hash_type, value)
    except lookup.LookupInputError as e:
        raise HTTPException(422, str(e)) from None
    return _json(found.to_json())


@router.post(
    "/lookup",
    summary="Look up one item (the JSON of POST /v1/listings): its Decision now, nothing recorded",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def lookup_item(request: Request, _p: Screen) -> Response:
    limit = min(services(request).settings.max_body_bytes, _MAX_ITEM_BYTES)
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    try:
        item = Item.from_json(json.loads(body), default_id="")
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "body is not valid JSON") from None
    except ItemError as e:
        raise HTTPException(422, str(e)) from None
    if item.kind in ("torrent", "nzb", "image"):
        raise HTTPException(422, "look up files by their hashes (pdq, md5, sha1, sha256, infohash)")
    state = live_state(request)
    out = lookup.lookup_item(state, item).to_json()
    out["lists"] = state.versions
    return _json(out)
