"""One provisioned device's connection, as a state machine:

waiting (for a fresh advertisement) → connecting → setting up → streaming → backing off → waiting

A connection that ends early, or fails, makes the next wait longer (exponential backoff with
jitter, capped), so that one flapping device cannot starve the others of the adapter.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak_retry_connector import establish_connection

from edge.backoff import Backoff
from edge.config import BleSettings
from edge.gatt.uuids import normalize_uuid, sig_uuid
from edge.link.ble.adapter import battery_percentage
from edge.link.ble.failures import BASE_DELAY_S, Failure, classify
from edge.link.notification import Notification
from edge.profiles import DeviceProfile

log = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = sig_uuid(0x2A19)
_CONNECT_ATTEMPTS = 2
_DISCONNECT_TIMEOUT_S = 5.0
_STALL_CHECK_S = 1.0
# A stream is stalled when nothing came for this many expected intervals.
_STALL_INTERVALS = 10


class State(Enum):
    WAITING = "waiting for advertisement"
    CONNECTING = "connecting"
    SETTING_UP = "setting up"
    STREAMING = "streaming"
    BACKING_OFF = "backing off"


@dataclass(slots=True)
class LinkCounters:
    connects: int = 0
    disconnects: int = 0
    failures: dict[Failure, int] = field(default_factory=dict)


class AdapterGate:
    """One LE connection attempt at a time per adapter (controllers reject parallel ones), and
    a budget of connection slots held from connect to disconnect."""

    def __init__(self, slots: int) -> None:
        self.connecting = asyncio.Lock()
        self.slots = asyncio.Semaphore(slots)


Deliver = Callable[[Notification], None]
ReportFailure = Callable[[str, Failure], None]


class DeviceConnection:
    def __init__(
        self, device_id: str, address: str, profile: DeviceProfile, settings: BleSettings,
        gate: AdapterGate, deliver: Deliver, report_failure: ReportFailure,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.device_id = device_id
        self.address = address
        self.profile = profile
        self.state = State.WAITING
        self.counters = LinkCounters()
        self._settings = settings
        self._gate = gate
        self._deliver = deliver
        self._report_failure = report_failure
        self._clock = clock
        self._backoff = Backoff(settings.backoff_cap_s)
        self._advertised = asyncio.Event()
        self._ble_device: BLEDevice | None = None
        self._lost = asyncio.Event()
        self._last_value_at: dict[str, float] = {}

    def advertised(self, ble_device: BLEDevice) -> None:
        self._ble_device = ble_device
        self._advertised.set()

    async def run(self) -> None:
        while True:
            self.state = State.WAITING
            await self._advertised.wait()
            failure = await self._session()
            self._advertised.clear()
            self.state = State.BACKING_OFF
            await asyncio.sleep(self._delay_after(failure))

    def _delay_after(self, failure: Failure | None) -> float:
        if failure is None:
            self._backoff.reset()
            return self._settings.reconnect_delay_s
        self.counters.failures[failure] = self.counters.failures.get(failure, 0) + 1
        self._report_failure(self.device_id, failure)
        delay = self._backoff.next_delay(BASE_DELAY_S[failure])
        log.info("device %s: %s; next attempt in %.1f s", self.device_id, failure.value, delay)
        return delay

    async def _session(self) -> Failure | None:
        async with self._gate.slots:
            self.state = State.CONNECTING
            try:
                client = await self._connect()
            except Exception as error:  # every connect error is classified and retried
                log.debug("device %s: connect failed: %r", self.device_id, error)
                return classify(error)
            self.counters.connects += 1
            try:
                return await self._stream(client)
            except Exception as error:
                log.debug("device %s: set-up or stream failed: %r", self.device_id, error)
                return classify(error)
            finally:
                await self._disconnect(client)

    async def _connect(self) -> BleakClient:
        if self._ble_device is None:
            raise RuntimeError("connect before any advertisement")
        self._lost.clear()
        async with self._gate.connecting, asyncio.timeout(self._settings.connect_timeout_s):
            return await establish_connection(
                BleakClient, self._ble_device, self.device_id,
                disconnected_callback=lambda _: self._lost.set(),
                max_attempts=_CONNECT_ATTEMPTS, use_services_cache=False,
            )

    async def _stream(self, client: BleakClient) -> Failure | None:
        self.state = State.SETTING_UP
        await self._set_up(client)
        self.state = State.STREAMING
        log.info("device %s: streaming (%s)", self.device_id, self.profile.name)
        started = time.monotonic()
        failure = await self._watch(client)
        self.counters.disconnects += 1
        if failure is None and time.monotonic() - started < self._settings.flap_threshold_s:
            # Connected, then dropped at once: treated as a failure so that backoff grows.
            return Failure.OTHER
        return failure

    async def _set_up(self, client: BleakClient) -> None:
        for read in self.profile.read:
            uuid = normalize_uuid(read.characteristic)
            try:
                value = await self._read(client, uuid)
            except Exception as error:
                if read.required:
                    raise
                log.info("device %s: optional read of %s failed: %s", self.device_id, uuid,
                         error)
                continue
            self._receive(uuid, value)
        now = time.monotonic()
        for subscription in self.profile.subscribe:
            uuid = normalize_uuid(subscription.characteristic)
            self._last_value_at[uuid] = now
            await client.start_notify(uuid, self._on_value)
        for write in self.profile.setup:
            await client.write_gatt_char(write.characteristic, write.payload,
                                         response=write.with_response)
            log.debug("device %s: %s", self.device_id, write.purpose)

    async def _read(self, client: BleakClient, uuid: str) -> bytes:
        if uuid == BATTERY_LEVEL_UUID and client.services.get_characteristic(uuid) is None:
            # bluetoothd's battery plugin keeps the Battery Service for itself.
            return bytes([await battery_percentage(self._settings.adapter, self.address)])
        return bytes(await client.read_gatt_char(uuid))

    def _on_value(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        self._receive(normalize_uuid(characteristic.uuid), bytes(data))

    def _receive(self, uuid: str, payload: bytes) -> None:
        self._last_value_at[uuid] = time.monotonic()
        self._deliver(Notification(self.device_id, uuid, payload, self._clock()))

    async def _watch(self, client: BleakClient) -> Failure | None:
        """Wait until the device disconnects (None) or a stream goes silent (STALLED)."""
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), _STALL_CHECK_S)
            except TimeoutError:
                silent = self._stalled_stream()
                if silent is not None:
                    log.warning("device %s: stream %s went silent; reconnecting",
                                self.device_id, silent)
                    return Failure.STALLED
        return None

    def _stalled_stream(self) -> str | None:
        now = time.monotonic()
        for subscription in self.profile.subscribe:
            if subscription.expected_rate_hz <= 0:
                continue
            uuid = normalize_uuid(subscription.characteristic)
            limit = max(self._settings.stall_min_s,
                        _STALL_INTERVALS / subscription.expected_rate_hz)
            if now - self._last_value_at.get(uuid, now) > limit:
                return uuid
        return None

    async def _disconnect(self, client: BleakClient) -> None:
        try:
            async with asyncio.timeout(_DISCONNECT_TIMEOUT_S):
                await client.disconnect()
        except Exception as error:
            log.debug("device %s: disconnect failed: %r", self.device_id, error)
