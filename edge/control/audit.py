"""An append-only, hash-chained audit log of remote changes: each JSON line carries the hash of
the line before, so that a removed or altered line breaks the chain (`verify_chain`)."""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_GENESIS = "0" * 64


def _digest(previous: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        self._last = json.loads(lines[-1])["hash"] if lines else _GENESIS

    def append(self, entry: dict[str, Any]) -> None:
        record = entry | {"prev": self._last}
        record["hash"] = _digest(self._last, record)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write(json.dumps(record, sort_keys=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
        self._last = record["hash"]


def verify_chain(path: Path) -> int | None:
    """The number (from 1) of the first line that breaks the chain, or None when it holds."""
    previous = _GENESIS
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
            claimed = record.pop("hash")
        except (ValueError, KeyError, AttributeError):
            return number
        if record.get("prev") != previous or _digest(previous, record) != claimed:
            return number
        previous = claimed
    return None
