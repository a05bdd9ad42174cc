import random


class Backoff:
    """Exponential backoff with jitter and a cap: per BLE device, and for the broker.

    Jitter keeps devices that failed together (an adapter reset) from retrying in lock-step.
    """

    def __init__(self, cap_s: float, rng: random.Random | None = None) -> None:
        self._cap_s = cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def next_delay(self, base_s: float) -> float:
        """Record one more failure and return how long to wait before the next attempt."""
        self.failures += 1
        ceiling = min(self._cap_s, base_s * 2.0 ** (self.failures - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0
