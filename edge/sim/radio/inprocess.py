"""A scenario's devices wired straight into the gateway in the same process: no radio, but the
same values, the same set-up writes as a central's, and the same link faults."""

import asyncio
from collections.abc import Callable, Mapping

from edge.gatt.uuids import normalize_uuid
from edge.link.notification import Notification
from edge.profiles import DeviceProfile
from edge.sim.runner import ScenarioRun

_RECONNECT_S = 2.0  # run time a dropped link stays down before the "central" is back


class InProcessRadio:
    """A gateway link (`run(deliver)`) that runs the scenario and acts as its central: it
    "subscribes" to what each device's profile subscribes to, performs the profile's set-up
    writes at every (re)connection, and stamps each value with the run's clock."""

    def __init__(self, run: ScenarioRun, profiles: Mapping[str, DeviceProfile]) -> None:
        self._run = run
        self._by_address = {w.peripheral.address: w for w in run.wearables.values()}
        self._profiles = {address: profiles[w.profile] for address, w in self._by_address.items()}
        self._connected: set[str] = set()
        self._ever_connected: set[str] = set()
        self._reconnects = 0
        self._in_range = set(self._by_address)
        self._deliver: Callable[[Notification], None] = lambda _: None

    async def run(self, deliver: Callable[[Notification], None]) -> None:
        self._deliver = deliver
        for address in self._by_address:
            self._connect(address)
        await self._run.run(self)

    def connected_ids(self) -> set[str]:
        return {self._by_address[address].id for address in self._connected}

    def reconnects(self) -> int:
        return self._reconnects

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        subscribed = {normalize_uuid(s.characteristic) for s in self._profiles[address].subscribe}
        if address in self._connected and normalize_uuid(characteristic_uuid) in subscribed:
            self._deliver(Notification(self._by_address[address].id,
                                       normalize_uuid(characteristic_uuid), payload,
                                       self._run.clock.now()))

    def drop_link(self, address: str) -> None:
        self._connected.discard(address)
        asyncio.get_running_loop().call_later(_RECONNECT_S / self._run.clock.speed,
                                              self._connect, address)

    def set_in_range(self, address: str, in_range: bool) -> None:
        if in_range:
            self._in_range.add(address)
            self._connect(address)
        else:
            self._in_range.discard(address)
            self._connected.discard(address)

    def _connect(self, address: str) -> None:
        if address not in self._in_range or address in self._connected:
            return
        self._reconnects += address in self._ever_connected
        self._ever_connected.add(address)
        self._connected.add(address)
        peripheral = self._by_address[address].peripheral
        for write in self._profiles[address].setup:
            on_write = peripheral.find_characteristic(write.characteristic).on_write
            if on_write is not None:
                on_write(write.payload)
