"""The BLE central: one long-lived scanner feeding the provisioned devices' connections, and a
supervisor that climbs an escalation ladder when the adapter seems stuck."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from edge.config import BleSettings
from edge.link.ble.adapter import set_powered
from edge.link.ble.connection import AdapterGate, Deliver, DeviceConnection, State
from edge.link.ble.failures import Failure
from edge.link.notification import Notification
from edge.profiles import DeviceProfile

log = logging.getLogger(__name__)

_SUPERVISOR_CHECK_S = 1.0
# Two or more devices failing like this within this window point at the adapter, not at them.
_ADAPTER_FAULT_WINDOW_S = 5.0
_ADAPTER_FAILURES = {Failure.ADAPTER_DOWN, Failure.TIMEOUT, Failure.STALLED}
_POWER_CYCLE_PAUSE_S = 1.0


@dataclass(frozen=True, slots=True)
class ProvisionedDevice:
    device_id: str
    address: str
    profile: DeviceProfile


@dataclass(slots=True)
class CentralCounters:
    advertisements: int = 0
    ignored_advertisements: int = 0
    scanner_restarts: int = 0
    adapter_power_cycles: int = 0


class BleCentral:
    def __init__(self, settings: BleSettings, devices: Sequence[ProvisionedDevice],
                 clock: Callable[[], float] = time.time) -> None:
        """`clock` stamps each value as it arrives (UTC seconds)."""
        self._settings = settings
        self.counters = CentralCounters()
        self._deliver: Deliver | None = None
        gate = AdapterGate(settings.connection_slots)
        self.connections = {
            device.address.upper(): DeviceConnection(
                device.device_id, device.address, device.profile, settings, gate, self._forward,
                self._device_failed, clock)
            for device in devices
        }
        self._scanner: BleakScanner | None = None
        self._last_advertisement = time.monotonic()
        self._adapter_failures: dict[str, float] = {}
        self._last_escalation = float("-inf")
        self._next_step = 0

    def states(self) -> dict[str, State]:
        return {c.device_id: c.state for c in self.connections.values()}

    def connected_ids(self) -> set[str]:
        return {c.device_id for c in self.connections.values() if c.state is State.STREAMING}

    def reconnects(self) -> int:
        return sum(max(0, c.counters.connects - 1) for c in self.connections.values())

    async def run(self, deliver: Deliver) -> None:
        self._deliver = deliver
        tasks = [asyncio.create_task(c.run()) for c in self.connections.values()]
        try:
            await self._start_scanner()
            await self._supervise()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._stop_scanner()

    def _forward(self, notification: Notification) -> None:
        if self._deliver is not None:
            self._deliver(notification)

    def _on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        connection = self.connections.get(device.address.upper())
        if connection is None:
            self.counters.ignored_advertisements += 1
            return
        self.counters.advertisements += 1
        self._last_advertisement = time.monotonic()
        self._next_step = 0
        connection.advertised(device)

    def _device_failed(self, device_id: str, failure: Failure) -> None:
        if failure not in _ADAPTER_FAILURES:
            return
        now = time.monotonic()
        self._adapter_failures[device_id] = now
        recent = [t for t in self._adapter_failures.values() if now - t < _ADAPTER_FAULT_WINDOW_S]
        if len(recent) >= 2 or failure is Failure.ADAPTER_DOWN:
            log.warning("adapter %s looks faulty (%d device(s) failing: %s)",
                        self._settings.adapter, len(recent), failure.value)
            asyncio.get_running_loop().create_task(self._escalate())

    async def _supervise(self) -> None:
        """The scanner watchdog: devices are waiting but nothing has advertised for a while."""
        while True:
            await asyncio.sleep(_SUPERVISOR_CHECK_S)
            waiting = any(c.state is State.WAITING for c in self.connections.values())
            silent_s = time.monotonic() - self._last_advertisement
            if waiting and silent_s > self._settings.scanner_stall_s:
                log.warning("no advertisement for %.0f s while devices wait", silent_s)
                await self._escalate()

    async def _escalate(self) -> None:
        """Climb one step of the ladder, at most once per escalation interval: restart
        discovery, then power-cycle the adapter; a success starts the ladder again."""
        now = time.monotonic()
        if now - self._last_escalation < self._settings.escalation_interval_s:
            return
        self._last_escalation = now
        self._last_advertisement = now
        steps = (self._restart_scanner, self._power_cycle_adapter)
        step = steps[min(self._next_step, len(steps) - 1)]
        self._next_step += 1
        try:
            await step()
        except Exception as error:
            log.warning("adapter recovery step %s failed: %s", step.__name__.strip("_"), error)

    async def _restart_scanner(self) -> None:
        log.warning("restarting discovery on %s", self._settings.adapter)
        self.counters.scanner_restarts += 1
        await self._stop_scanner()
        await self._start_scanner()

    async def _power_cycle_adapter(self) -> None:
        adapter = self._settings.adapter
        log.warning("power-cycling adapter %s", adapter)
        self.counters.adapter_power_cycles += 1
        await self._stop_scanner()
        await set_powered(adapter, False)
        await asyncio.sleep(_POWER_CYCLE_PAUSE_S)
        await set_powered(adapter, True)
        await self._start_scanner()
        self._next_step = 0

    async def _start_scanner(self) -> None:
        scanner = BleakScanner(self._on_advertisement, bluez={"adapter": self._settings.adapter})
        try:
            await scanner.start()
        except Exception as error:
            log.warning("cannot start discovery on %s: %s", self._settings.adapter, error)
            return
        self._scanner = scanner

    async def _stop_scanner(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is None:
            return
        try:
            await scanner.stop()
        except Exception as error:
            log.debug("stopping discovery failed: %r", error)
