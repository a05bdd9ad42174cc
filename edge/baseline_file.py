"""The learned personal baselines on disk: JSON, readable by the gateway's user alone, replaced
atomically so that a power cut leaves either the old file or the new one."""

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from edge.detect.baselines import BaselineParams, BaselineStore, Vital

log = logging.getLogger(__name__)


def load_baselines(path: Path, params: Mapping[Vital, BaselineParams],
                   utc_offset_s: float) -> BaselineStore:
    """The saved baselines; a missing file starts empty, and an unreadable one is moved aside
    (never deleted) and learning starts again."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return BaselineStore(params, utc_offset_s)
    except OSError as error:
        log.error("baselines %s cannot be read (%s); learning again", path, error.strerror)
        return BaselineStore(params, utc_offset_s)
    try:
        return BaselineStore.from_dict(json.loads(content), params, utc_offset_s)
    except (ValueError, TypeError, AttributeError) as error:
        aside = path.with_name(f"{path.name}.unreadable")
        log.error("baselines %s are not valid (%s); moved to %s, learning again", path, error,
                  aside)
        path.replace(aside)
        return BaselineStore(params, utc_offset_s)


def save_baselines(store: BaselineStore, path: Path) -> None:
    temporary = path.with_name(f"{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(store.to_dict(), file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
