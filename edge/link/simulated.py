import asyncio
import time
from collections.abc import Callable

from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.link.notification import Notification
from edge.sim.heart_rate_strap import HeartRateStrap


class SimulatedLink:
    """Delivers a simulated strap's notifications in real time, once per interval."""

    def __init__(self, device_id: str, strap: HeartRateStrap, interval_s: float = 1.0) -> None:
        self._device_id = device_id
        self._strap = strap
        self._interval_s = interval_s

    async def run(self, deliver: Callable[[Notification], None]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        ticks = 0
        while True:
            ticks += 1
            await asyncio.sleep(max(0.0, started + ticks * self._interval_s - loop.time()))
            payload = self._strap.packet(loop.time() - started)
            deliver(Notification(self._device_id, HeartRateMeasurement.UUID, payload, time.time()))
