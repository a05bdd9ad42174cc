"""One clock for every simulated device of a run (and, in-process, for the gateway too), which
may run faster than real time."""

import asyncio
import time


class VirtualClock:
    """Run time `t` in seconds since `start`, advancing `speed` times as fast as real time;
    `now()` is the matching UTC epoch time, starting at `epoch` (the real time by default)."""

    def __init__(self, speed: float = 1.0, epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.epoch = time.time() if epoch is None else epoch
        self._started = time.monotonic()

    def elapsed(self) -> float:
        return (time.monotonic() - self._started) * self.speed

    def now(self) -> float:
        return self.epoch + self.elapsed()

    def epoch_at(self, t: float) -> float:
        return self.epoch + t

    async def sleep_until(self, t: float) -> None:
        await asyncio.sleep(max(0.0, (t - self.elapsed()) / self.speed))
