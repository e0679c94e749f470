"""Checkpoints: after each completed chunk, the next chunk index, the output length and the running
totals, written atomically (temporary file, fsync, rename). Output is written per chunk in chunk
order, so a resumed sweep truncates the output to the recorded length and starts at the recorded
chunk: nothing is screened twice, nothing is skipped."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexguard.errors import IndexguardError

STATE = "state.json"


@dataclass(slots=True)
class State:
    fingerprint: str
    next_chunk: int = 0
    output_bytes: int = 0
    totals: dict[str, Any] | None = None
    done: bool = False


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Checkpoint:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.directory / STATE

    def load(self) -> State | None:
        try:
            obj = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise IndexguardError(f"{self.path}: unreadable checkpoint: {e}") from None
        return State(obj["fingerprint"], int(obj["next_chunk"]), int(obj["output_bytes"]), obj.get("totals"),
                     bool(obj.get("done")))

    def save(self, state: State) -> None:
        body = {"fingerprint": state.fingerprint, "next_chunk": state.next_chunk,
                "output_bytes": state.output_bytes, "totals": state.totals, "done": state.done}
        atomic_write(self.path, json.dumps(body).encode())

    def begin(self, fingerprint: str, resume: bool) -> State:
        """The state to start from; refuses to mix two different sweeps in one directory."""
        found = self.load()
        if found is None:
            return State(fingerprint)
        if not resume:
            raise IndexguardError(f"{self.directory} holds a checkpoint; pass --resume to continue it, "
                                  "or remove the directory to start over")
        if found.fingerprint != fingerprint:
            raise IndexguardError(f"{self.directory}: the checkpoint is of a different sweep (sources, lists "
                                  "or options changed); remove it to start over")
        return found
