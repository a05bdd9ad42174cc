import logging


class RateLimitedLog:
    """Logs a repeated problem at most once per interval per key, counting what it held back."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self._held_back: dict[str, int] = {}

    def due(self, key: str, now: float) -> bool:
        """Whether a warning under `key` would be logged now."""
        last = self._last.get(key)
        return last is None or now - last >= self._interval_s

    def warning(self, key: str, now: float, message: str) -> None:
        if not self.due(key, now):
            self._held_back[key] = self._held_back.get(key, 0) + 1
            return
        held_back = self._held_back.pop(key, 0)
        suffix = f" ({held_back} more since the last report)" if held_back else ""
        self._logger.warning("%s%s", message, suffix)
        self._last[key] = now
