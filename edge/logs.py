"""Logging for people at a terminal (text) or for journald and fleet tools (one JSON object per
line on standard output). Log messages name devices and patients by pseudonym only and never
carry a measured value, a payload or a secret."""

import json
import logging
import sys
from collections import deque
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            # The exception's type and place, not its message: that could quote a value.
            kind, _, trace = record.exc_info
            frame = trace.tb_frame if trace else None
            while trace is not None and trace.tb_next is not None:
                trace = trace.tb_next
                frame = trace.tb_frame
            entry["error"] = kind.__name__ if kind else "unknown"
            if frame is not None:
                entry["where"] = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        return json.dumps(entry)


class RecentProblems(logging.Handler):
    """The last warnings and errors, for the technician view (they quote no value either)."""

    def __init__(self, keep: int = 20) -> None:
        super().__init__(logging.WARNING)
        self.records: deque[tuple[float, str]] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.created, record.getMessage()))


RECENT_PROBLEMS = RecentProblems()
logging.getLogger("edge").addHandler(RECENT_PROBLEMS)


def configure(log_format: LogFormat, debug: bool) -> None:
    handler = logging.StreamHandler(sys.stdout if log_format == "json" else sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(_TEXT))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler],
                        force=True)
