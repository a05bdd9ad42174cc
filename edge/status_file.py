"""The running gateway's state for local readers (`edge doctor`, later the patient page): each
device's link, last data and battery, written every few seconds, atomically, mode 0600. No
measured value is in it."""

import json
import os
from pathlib import Path
from typing import Any

STATUS_FILE = "status.json"


def write_status(path: Path, status: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(status, file)
    temporary.replace(path)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None
