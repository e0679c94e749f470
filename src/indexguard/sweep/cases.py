"""`--open-cases URL`: post flagged items to the service's POST /v1/batch, which screens them with its
own lists and opens cases for what it flags. A thin client: batches of items, bearer API key, a clear
error when the service refuses. File items (torrents, NZBs, images) are not sent: the service takes
those on their own endpoints."""

from __future__ import annotations

from typing import Any

import httpx

from indexguard.errors import IndexguardError

BATCH = 500


class CaseOpener:
    def __init__(self, base_url: str, api_key: str, *, client: httpx.Client | None = None) -> None:
        self._url = base_url.rstrip("/") + "/v1/batch"
        self._client = client or httpx.Client(timeout=60.0)
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self.sent = 0
        self.skipped = 0

    def __call__(self, records: list[dict[str, Any]]) -> None:
        items = [r["item"] for r in records if "item" in r]
        self.skipped += len(records) - len(items)
        for i in range(0, len(items), BATCH):
            self._post(items[i : i + BATCH])

    def _post(self, items: list[dict[str, Any]]) -> None:
        try:
            resp = self._client.post(self._url, json={"items": items}, headers=self._headers)
        except httpx.HTTPError as e:
            raise IndexguardError(f"--open-cases: cannot reach {self._url}: {e}") from None
        if resp.status_code != 200:
            raise IndexguardError(f"--open-cases: {self._url} answered {resp.status_code}: {resp.text[:200]}")
        self.sent += len(items)

    def close(self) -> None:
        self._client.close()
