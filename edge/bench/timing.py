import platform
import time
from collections.abc import Callable, Sized
from datetime import UTC, datetime
from typing import Any, TypeVar

_ROUNDS = 5
Items = TypeVar("Items", bound=Sized)


def per_second(work: Callable[[Items], object], items: Items, rounds: int = _ROUNDS) -> float:
    """Items processed per second by `work(items)`, best of several rounds (the least disturbed
    by the rest of the machine)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work(items)
        best = min(best, time.perf_counter() - started)
    return len(items) / best


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
