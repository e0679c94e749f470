"""Helpers shared by the integration tests (a uniquely named module, importable from tests)."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Any

import bencode2
import uvicorn

from indexguard.lists.terms import TermList, parse_term_list

# Placeholder pseudo-words only. `zorblat` and `vantu drelo` are on the bundled demo list; the
# canary token is what an operator would add to their own list.
CANARY = "qqcanaryzuvek"
TERMS_TEXT = "zorblat\nquemfix\nvantu drelo\n" + CANARY + "\n"


def term_list() -> TermList:
    return parse_term_list(TERMS_TEXT, "test-terms", "txt")


def make_torrent(name: str, payload: bytes = b"synthetic payload") -> bytes:
    info = {b"name": name.encode(), b"length": len(payload), b"piece length": 16384,
            b"pieces": hashlib.sha1(payload).digest()}
    return bencode2.bencode({b"announce": b"http://127.0.0.1:1/announce", b"info": info})


def infohash_v1(torrent: bytes) -> str:
    info = bencode2.bdecode(torrent)[b"info"]
    return hashlib.sha1(bencode2.bencode(info)).hexdigest()


class ServerThread:
    """A uvicorn server for an ASGI app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

