"""An emulated bluetoothd: org.bluez served on a D-Bus bus, so that bleak's real BlueZ backend
scans, connects and subscribes to virtual peripherals, and tests can inject the faults seen in the
field.

Emulated: ObjectManager, Properties, Adapter1 (discovery sessions and filters per client,
Powered), Device1 (Connect, Disconnect, advertising properties), GattService1,
GattCharacteristic1 (ReadValue, WriteValue, StartNotify, StopNotify), GattDescriptor1 and, as
bluetoothd's battery plugin does, Battery1 in place of the Battery Service; the services
bluetoothd's plugins claim are hidden. Not emulated: pairing, AcquireNotify and AcquireWrite,
advertisement monitors (passive scanning), BR/EDR, the removal of stale devices some time after
discovery stops.

Every method is meant to be called from the event loop the emulator was started in.
"""

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, NoReturn

from dbus_fast import Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus

from edge.sim.bluez import errors
from edge.sim.bluez.errors import BluezError
from edge.sim.bluez.gatt_client import GattClientObjects
from edge.sim.bluez.objects import BusObject, ObjectTree, Properties
from edge.sim.bluez.properties import (
    DiscoveryFilter,
    adapter_properties,
    advertised_properties,
    device_properties,
    merge_advertisement,
    union,
)
from edge.sim.peripheral import Peripheral, full_uuid

BLUEZ = "org.bluez"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
BATTERY = "org.bluez.Battery1"
BATTERY_SERVICE = full_uuid("180f")
BATTERY_LEVEL = full_uuid("2a19")
# Services bluetoothd's built-in plugins claim (GAP, HID over GATT), which it never exports.
CLAIMED_SERVICES = (full_uuid("1800"), full_uuid("1812"))
DEFAULT_MAX_CONNECTIONS = 7
# Notifications sent before waiting for the daemon to read them: 32 of 512 bytes fill about a
# tenth of a unix socket's default send buffer.
_FLOOD_BATCH = 32
_NAME_OWNER_CHANGED = ("type='signal',sender='org.freedesktop.DBus',"
                       "interface='org.freedesktop.DBus',member='NameOwnerChanged'")
# Properties of Device1 that come from advertisements; bluetoothd drops these two when
# discovery stops, so the next advertisement is a change that scanners hear again.
_SIGNAL_STRENGTH = ("RSSI", "TxPower")

CounterName = Literal["connect_attempts", "connect_failures", "connections", "disconnections",
                      "notifications_sent", "notifications_dropped"]


@dataclass
class Counters:
    """What happened, for tests to assert on. A notification counts as sent once per
    connection it reached, as dropped once when it reached none."""

    connect_attempts: int = 0
    connect_failures: int = 0
    connections: int = 0
    disconnections: int = 0
    notifications_sent: int = 0
    notifications_dropped: int = 0


@dataclass
class _PeripheralState:
    spec: Peripheral
    counters: Counters = field(default_factory=Counters)
    connect_faults: deque[BluezError] = field(default_factory=deque)
    in_range: bool = True


@dataclass(eq=False)
class _Device:
    """A peripheral as one adapter knows it: a Device1 object."""

    adapter: "_Adapter"
    state: _PeripheralState
    path: str
    gatt: GattClientObjects | None = None
    pending_connect: "asyncio.Task[None] | None" = None

    @property
    def connected(self) -> bool:
        return self.gatt is not None


@dataclass(eq=False)
class _Adapter:
    name: str
    address: str
    max_connections: int
    out_of_slots_error: BluezError
    concurrent_connect_error: BluezError | None
    powered: bool = True
    devices: dict[str, _Device] = field(default_factory=dict)
    # Bus name of each client that called StartDiscovery, with the filter it set, if any.
    discovery_clients: dict[str, DiscoveryFilter | None] = field(default_factory=dict)
    # Filters set by clients before their StartDiscovery.
    pending_filters: dict[str, DiscoveryFilter] = field(default_factory=dict)
    advertisers: dict[str, "asyncio.Task[None]"] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/org/bluez/{self.name}"

    @property
    def discovering(self) -> bool:
        return bool(self.discovery_clients)

    def slots_in_use(self) -> int:
        return sum(1 for d in self.devices.values() if d.connected or d.pending_connect)

    def reports(self, peripheral: Peripheral) -> bool:
        return any(f is None or f.admits(peripheral) for f in self.discovery_clients.values())


class BluezEmulator:
    """org.bluez on the bus at `bus_address`, with one adapter per name in `adapters`.

    Use it as an async context manager, or call `start` and `stop`. Peripherals are in range of
    every adapter. GAP and HID services are never exported, as with bluetoothd. With
    `battery_plugin` (bluetoothd's default) the Battery Service is not exported either: its level
    shows as Battery1.Percentage on the connected device (bluetoothd -P battery turns it off).
    """

    def __init__(self, bus_address: str, *, adapters: Sequence[str] = ("hci0",),
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 battery_plugin: bool = True) -> None:
        self._bus_address = bus_address
        self._initial_adapters = adapters
        self._initial_max_connections = max_connections
        self._battery_plugin = battery_plugin
        self._bus: MessageBus | None = None
        self._tree_or_none: ObjectTree | None = None
        self._adapters: dict[str, _Adapter] = {}
        self._peripherals: dict[str, _PeripheralState] = {}
        self.counters = Counters()

    # Lifecycle

    async def start(self) -> None:
        bus = self._bus = await MessageBus(bus_address=self._bus_address).connect()
        self._tree_or_none = ObjectTree(bus)
        bus.add_message_handler(self._tree.handle)
        bus.add_message_handler(self._on_bus_signal)
        await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                               interface="org.freedesktop.DBus", member="AddMatch",
                               signature="s", body=[_NAME_OWNER_CHANGED]))
        for name in self._initial_adapters:
            self.add_adapter(name, max_connections=self._initial_max_connections)
        # Named last, so that no client ever sees an org.bluez without its adapters.
        if await bus.request_name(BLUEZ, NameFlag.DO_NOT_QUEUE) is not \
                RequestNameReply.PRIMARY_OWNER:
            await self.stop()
            raise RuntimeError(f"{BLUEZ} already has an owner on {self._bus_address}")

    async def stop(self) -> None:
        for adapter in self._adapters.values():
            self._stop_advertisers(adapter)
            for device in adapter.devices.values():
                self._cancel_pending_connect(device)
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            # Raises the error the connection died of, if it died before: reported already.
            with contextlib.suppress(Exception):
                await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # unannotated

    async def __aenter__(self) -> "BluezEmulator":
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    @property
    def _tree(self) -> ObjectTree:
        if self._tree_or_none is None:
            raise RuntimeError("the emulator is not started")
        return self._tree_or_none

    # Adapters

    def add_adapter(self, name: str, *, address: str | None = None,
                    max_connections: int = DEFAULT_MAX_CONNECTIONS,
                    out_of_slots_error: BluezError = errors.OUT_OF_SLOTS,
                    concurrent_connect_error: BluezError | None = None,
                    powered: bool = True) -> str:
        """Plug in an adapter and return its object path. Beyond `max_connections` (pending
        connects included), Connect fails with `out_of_slots_error`. With
        `concurrent_connect_error`, a Connect while another is pending on the adapter fails
        with it, as controllers that take one LE Create Connection at a time do."""
        index = len(self._adapters)
        adapter = _Adapter(name, address or f"00:1A:7D:DA:71:{index:02X}", max_connections,
                           out_of_slots_error, concurrent_connect_error, powered)
        self._adapters[name] = adapter
        properties = adapter_properties(adapter.address, powered)
        self._tree.add(BusObject(adapter.path, {ADAPTER: properties}, methods={
            (ADAPTER, "SetDiscoveryFilter"): lambda m: self._set_discovery_filter(adapter, m),
            (ADAPTER, "StartDiscovery"): lambda m: self._start_discovery(adapter, m),
            (ADAPTER, "StopDiscovery"): lambda m: self._stop_discovery(adapter, m),
            (ADAPTER, "RemoveDevice"): lambda m: self._remove_device_call(adapter, m),
        }, setters={
            (ADAPTER, "Powered"): lambda value: self.set_powered(name, bool(value.value)),
        }))
        return adapter.path

    def remove_adapter(self, name: str) -> None:
        """Unplug an adapter: its connections drop and its objects disappear."""
        adapter = self._adapters.pop(name)
        self._stop_advertisers(adapter)
        for address in list(adapter.devices):
            self._forget_device(adapter, address)
        self._tree.remove(adapter.path)

    def set_powered(self, adapter_name: str, powered: bool) -> None:
        """Power the adapter on or off. Off drops its connections, cancels pending connects and
        ends discovery; Connect and discovery then fail with NotReady."""
        adapter = self._adapters[adapter_name]
        if powered == adapter.powered:
            return
        if not powered:
            for device in adapter.devices.values():
                self._cancel_pending_connect(device)
                self._drop_connection(device)
            for client in list(adapter.discovery_clients):
                self._end_discovery_session(adapter, client)
            adapter.pending_filters.clear()
        adapter.powered = powered
        self._tree.change(adapter.path, ADAPTER, {"Powered": Variant("b", powered)})

    # Peripherals

    def add_peripheral(self, peripheral: Peripheral) -> None:
        state = _PeripheralState(peripheral)
        self._peripherals[peripheral.address] = state
        for adapter in self._discovering_adapters():
            self._start_advertiser(adapter, state)

    def remove_peripheral(self, address: str) -> None:
        self.vanish(address)
        for adapter in self._adapters.values():
            advertiser = adapter.advertisers.pop(address.upper(), None)
            if advertiser is not None:
                advertiser.cancel()
        del self._peripherals[address.upper()]

    def peripheral(self, address: str) -> Peripheral:
        return self._state(address).spec

    def advertise(self, address: str, *, rssi: int | None = None,
                  manufacturer_data: dict[int, bytes] | None = None,
                  service_data: dict[str, bytes] | None = None,
                  name: str | None = None) -> None:
        """Change what the peripheral advertises and send one advertisement now."""
        spec = self._state(address).spec
        spec.rssi = spec.rssi if rssi is None else rssi
        spec.manufacturer_data = manufacturer_data or spec.manufacturer_data
        spec.service_data = service_data or spec.service_data
        spec.name = name or spec.name
        for adapter in self._discovering_adapters():
            self._report(adapter, self._state(address))

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        """Send a notification (or indication) from the peripheral to every connection that
        subscribed to the characteristic; without one, it is dropped, as the peripheral's
        stack would not send it. Payloads are not checked: malformed ones go through.
        For more than a few hundred at once, use `flood`, which waits for the bus."""
        state = self._state(address)
        reached = sum(self._deliver(device, characteristic_uuid, payload)
                      for device in self._devices_of(state.spec.address) if device.connected)
        for _ in range(reached):
            self._count(state, "notifications_sent")
        if not reached:
            self._count(state, "notifications_dropped")

    async def flood(self, address: str, characteristic_uuid: str, payloads: Iterable[bytes],
                    *, rate_hz: float | None = None) -> int:
        """Notify every payload, as fast as possible or at `rate_hz`; return how many reached
        at least one subscriber."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        dropped_before = self._state(address).counters.notifications_dropped
        total = 0
        for total, payload in enumerate(payloads, start=1):
            self.notify(address, characteristic_uuid, payload)
            if total % _FLOOD_BATCH == 0:
                await self._wait_until_bus_read()
            if rate_hz is not None:
                await asyncio.sleep(max(0.0, started + total / rate_hz - loop.time()))
        return total - (self._state(address).counters.notifications_dropped - dropped_before)

    async def _wait_until_bus_read(self) -> None:
        """Back-pressure: the daemon answers only after reading everything sent before.

        dbus-fast drops its connection when a send finds the socket full (EAGAIN), where
        bluetoothd's libdbus would wait; bursts are kept well below a socket buffer.
        """
        assert self._bus is not None
        await self._bus.call(Message(destination="org.freedesktop.DBus",
                                     path="/org/freedesktop/DBus",
                                     interface="org.freedesktop.DBus", member="GetId"))

    # Faults

    def fail_next_connects(self, address: str, error: BluezError, count: int = 1) -> None:
        """Make the next `count` Connect calls to this peripheral fail with `error`."""
        self._state(address).connect_faults.extend([error] * count)

    def set_connect_latency(self, address: str, seconds: float) -> None:
        self._state(address).spec.connect_latency = seconds

    def disconnect_by_peripheral(self, address: str) -> None:
        """The peripheral ends its connections, as on a link loss or a device reset."""
        for device in self._devices_of(address.upper()):
            self._drop_connection(device)

    def vanish(self, address: str) -> None:
        """The peripheral leaves radio range: its connections drop and bluetoothd forgets it
        (InterfacesRemoved) until it advertises again after `reappear`."""
        state = self._state(address)
        state.in_range = False
        for adapter in self._adapters.values():
            if state.spec.address in adapter.devices:
                self._forget_device(adapter, state.spec.address)

    def reappear(self, address: str) -> None:
        state = self._state(address)
        state.in_range = True
        for adapter in self._discovering_adapters():
            self._start_advertiser(adapter, state)

    # Queries

    def peripheral_counters(self, address: str) -> Counters:
        return self._state(address).counters

    def is_connected(self, address: str, adapter: str | None = None) -> bool:
        return any(device.connected for device in self._devices_of(address.upper(), adapter))

    def active_connections(self, adapter: str | None = None) -> int:
        return sum(1 for d in self._devices_of(None, adapter) if d.connected)

    def is_notifying(self, address: str, characteristic_uuid: str) -> bool:
        for device in self._devices_of(address.upper()):
            exported = device.gatt.find(characteristic_uuid) if device.gatt else None
            if exported is not None and exported.subscribers:
                return True
        return False

    def is_discovering(self, adapter: str = "hci0") -> bool:
        return self._adapters[adapter].discovering

    def device_path(self, address: str, adapter: str = "hci0") -> str:
        return f"/org/bluez/{adapter}/dev_{address.upper().replace(':', '_')}"

    # Discovery

    def _set_discovery_filter(self, adapter: _Adapter, message: Message) -> Message:
        self._require_powered(adapter)
        sender = message.sender or ""
        options: dict[str, Variant] = message.body[0]
        discovery_filter = DiscoveryFilter.from_dbus(options) if options else None
        if sender in adapter.discovery_clients:
            adapter.discovery_clients[sender] = discovery_filter
        elif discovery_filter is None:
            adapter.pending_filters.pop(sender, None)
        else:
            adapter.pending_filters[sender] = discovery_filter
        return Message.new_method_return(message)

    def _start_discovery(self, adapter: _Adapter, message: Message) -> Message:
        self._require_powered(adapter)
        sender = message.sender or ""
        if sender in adapter.discovery_clients:
            raise errors.BUSY.to_dbus()
        was_discovering = adapter.discovering
        adapter.discovery_clients[sender] = adapter.pending_filters.pop(sender, None)
        if not was_discovering:
            self._tree.change(adapter.path, ADAPTER, {"Discovering": Variant("b", True)})
            for state in self._peripherals.values():
                self._start_advertiser(adapter, state)
        return Message.new_method_return(message)

    def _stop_discovery(self, adapter: _Adapter, message: Message) -> Message:
        self._require_powered(adapter)
        sender = message.sender or ""
        if sender not in adapter.discovery_clients:
            raise errors.NO_DISCOVERY_STARTED.to_dbus()
        self._end_discovery_session(adapter, sender)
        return Message.new_method_return(message)

    def _end_discovery_session(self, adapter: _Adapter, client: str) -> None:
        del adapter.discovery_clients[client]
        if adapter.discovering:
            return
        self._stop_advertisers(adapter)
        for device in adapter.devices.values():
            if not device.connected:
                self._tree.change(device.path, DEVICE, {}, invalidated=_SIGNAL_STRENGTH)
        self._tree.change(adapter.path, ADAPTER, {"Discovering": Variant("b", False)})

    def _start_advertiser(self, adapter: _Adapter, state: _PeripheralState) -> None:
        running = adapter.advertisers.get(state.spec.address)
        if running is not None:
            running.cancel()
        adapter.advertisers[state.spec.address] = asyncio.get_running_loop().create_task(
            self._advertise(adapter, state))

    def _stop_advertisers(self, adapter: _Adapter) -> None:
        for advertiser in adapter.advertisers.values():
            advertiser.cancel()
        adapter.advertisers.clear()

    async def _advertise(self, adapter: _Adapter, state: _PeripheralState) -> None:
        while True:
            self._report(adapter, state)
            if state.spec.advertising_interval is None:
                return
            await asyncio.sleep(state.spec.advertising_interval)

    def _report(self, adapter: _Adapter, state: _PeripheralState) -> None:
        """One advertisement heard by the adapter: a new Device1 object, or a change of its
        advertising properties (RSSI always counts as changed, as it does on air)."""
        spec = state.spec
        device = adapter.devices.get(spec.address)
        if not _on_air(state, device) or not adapter.reports(spec):
            return
        heard = advertised_properties(spec)
        if device is None:
            self._add_device(adapter, state, heard)
            return
        current = self._tree.properties(device.path, DEVICE)
        merged = merge_advertisement(current, heard)
        changed = {name: value for name, value in merged.items()
                   if name == "RSSI" or current.get(name) != value}
        self._tree.change(device.path, DEVICE, changed)

    def _add_device(self, adapter: _Adapter, state: _PeripheralState, heard: Properties) -> None:
        device = _Device(adapter, state, self.device_path(state.spec.address, adapter.name))
        adapter.devices[state.spec.address] = device
        properties = {**device_properties(adapter.path, state.spec), **heard}
        self._tree.add(BusObject(device.path, {DEVICE: properties}, methods={
            (DEVICE, "Connect"): lambda m: self._connect(device, m),
            (DEVICE, "Disconnect"): lambda m: self._disconnect(device, m),
        }))

    def _remove_device_call(self, adapter: _Adapter, message: Message) -> Message:
        path = message.body[0]
        address = next((a for a, d in adapter.devices.items() if d.path == path), None)
        if address is None:
            raise errors.DOES_NOT_EXIST.to_dbus()
        self._forget_device(adapter, address)
        return Message.new_method_return(message)

    def _forget_device(self, adapter: _Adapter, address: str) -> None:
        device = adapter.devices.pop(address)
        self._cancel_pending_connect(device)
        self._drop_connection(device)
        self._tree.remove(device.path)

    # Connections

    def _connect(self, device: _Device, message: Message) -> Message | None:
        adapter, state = device.adapter, device.state
        self._count(state, "connect_attempts")
        if not adapter.powered:
            self._refuse_connect(device, errors.NOT_READY)
        if device.connected:
            return Message.new_method_return(message)
        if device.pending_connect is not None:
            self._refuse_connect(device, errors.IN_PROGRESS)
        if state.connect_faults:
            self._refuse_connect(device, state.connect_faults.popleft())
        if adapter.slots_in_use() >= adapter.max_connections:
            self._refuse_connect(device, adapter.out_of_slots_error)
        if adapter.concurrent_connect_error and any(
                d.pending_connect for d in adapter.devices.values()):
            self._refuse_connect(device, adapter.concurrent_connect_error)
        if state.spec.connect_latency <= 0:
            self._establish(device)
            return Message.new_method_return(message)
        device.pending_connect = asyncio.get_running_loop().create_task(
            self._connect_after_latency(device, message))
        return None

    def _refuse_connect(self, device: _Device, error: BluezError) -> NoReturn:
        self._count(device.state, "connect_failures")
        if error.link_came_up:
            self._tree.change(device.path, DEVICE, {"Connected": Variant("b", True)})
            self._tree.change(device.path, DEVICE, {"Connected": Variant("b", False)})
        raise error.to_dbus()

    async def _connect_after_latency(self, device: _Device, message: Message) -> None:
        try:
            await asyncio.sleep(device.state.spec.connect_latency)
        except asyncio.CancelledError:
            self._count(device.state, "connect_failures")
            error = errors.CONNECT_CANCELLED
            self._tree.send(Message.new_error(message, error.name, error.message))
            raise
        device.pending_connect = None
        self._establish(device)
        self._tree.send(Message.new_method_return(message))

    def _cancel_pending_connect(self, device: _Device) -> None:
        pending, device.pending_connect = device.pending_connect, None
        if pending is not None:
            pending.cancel()

    def _establish(self, device: _Device) -> None:
        """The link is up: services are discovered and exported, then resolved."""
        spec = device.state.spec
        self._count(device.state, "connections")
        self._tree.change(device.path, DEVICE, {"Connected": Variant("b", True)})
        hidden = [*CLAIMED_SERVICES, *([BATTERY_SERVICE] if self._battery_plugin else [])]
        device.gatt = GattClientObjects(self._tree, device.path, spec.services, spec.mtu, hidden)
        device.gatt.export()
        current_uuids = self._tree.properties(device.path, DEVICE)["UUIDs"].value
        uuids = union(current_uuids, [full_uuid(service.uuid) for service in spec.services])
        self._tree.change(device.path, DEVICE, {"UUIDs": Variant("as", uuids),
                                                 "ServicesResolved": Variant("b", True)})
        level = _battery_level(spec) if self._battery_plugin else None
        if level is not None:
            self._tree.add_interface(device.path, BATTERY, {"Percentage": Variant("y", level)})

    def _disconnect(self, device: _Device, message: Message) -> Message:
        if device.pending_connect is not None:
            self._cancel_pending_connect(device)
        elif not device.connected:
            raise errors.NOT_CONNECTED.to_dbus()
        self._drop_connection(device)
        return Message.new_method_return(message)

    def _drop_connection(self, device: _Device) -> None:
        gatt, device.gatt = device.gatt, None
        if gatt is None:
            return
        self._count(device.state, "disconnections")
        self._tree.change(device.path, DEVICE, {"ServicesResolved": Variant("b", False)})
        self._tree.remove_interface(device.path, BATTERY)
        gatt.remove()
        self._tree.change(device.path, DEVICE, {"Connected": Variant("b", False)})

    def _deliver(self, device: _Device, characteristic_uuid: str, payload: bytes) -> bool:
        assert device.gatt is not None
        if self._battery_plugin and full_uuid(characteristic_uuid) == BATTERY_LEVEL:
            if not self._tree.has_interface(device.path, BATTERY):
                return False
            self._tree.change(device.path, BATTERY, {"Percentage": Variant("y", payload[0])})
            return True
        return device.gatt.notify(characteristic_uuid, payload)

    # Clients leaving the bus

    def _on_bus_signal(self, message: Message) -> None:
        """bluetoothd ends the discovery and notify sessions of a client that leaves the bus."""
        if (message.message_type is MessageType.SIGNAL and message.member == "NameOwnerChanged"
                and message.sender == "org.freedesktop.DBus" and not message.body[2]):
            self._forget_client(message.body[0])

    def _forget_client(self, bus_name: str) -> None:
        for adapter in self._adapters.values():
            adapter.pending_filters.pop(bus_name, None)
            if bus_name in adapter.discovery_clients:
                self._end_discovery_session(adapter, bus_name)
            for device in adapter.devices.values():
                if device.gatt is not None:
                    device.gatt.forget_subscriber(bus_name)

    # Helpers

    def _state(self, address: str) -> _PeripheralState:
        return self._peripherals[address.upper()]

    def _devices_of(self, address: str | None, adapter: str | None = None) -> Iterator[_Device]:
        for candidate in self._adapters.values():
            if adapter is not None and candidate.name != adapter:
                continue
            for device_address, device in candidate.devices.items():
                if address is None or device_address == address:
                    yield device

    def _discovering_adapters(self) -> list[_Adapter]:
        return [adapter for adapter in self._adapters.values() if adapter.discovering]

    @staticmethod
    def _require_powered(adapter: _Adapter) -> None:
        if not adapter.powered:
            raise errors.NOT_READY.to_dbus()

    def _count(self, state: _PeripheralState, event: CounterName) -> None:
        for counters in (self.counters, state.counters):
            setattr(counters, event, getattr(counters, event) + 1)


def _on_air(state: _PeripheralState, device: _Device | None) -> bool:
    """Whether the peripheral advertises to an adapter that knows it as `device`."""
    if not state.in_range:
        return False
    connected = device is not None and device.connected
    return not connected or state.spec.advertises_while_connected


def _battery_level(spec: Peripheral) -> int | None:
    for service in spec.services:
        if full_uuid(service.uuid) != BATTERY_SERVICE:
            continue
        for characteristic in service.characteristics:
            if full_uuid(characteristic.uuid) == BATTERY_LEVEL:
                value = characteristic.on_read() if characteristic.on_read else characteristic.value
                return value[0] if value else None
    return None
