"""A virtual wearable (`edge.sim.peripheral.Peripheral`) served by a bumble `Device`: its
GATT table, its advertisement, and the notifications and indications it sends.

`serve(peripheral, transport="usb:0")` runs it on any bumble transport (a USB dongle,
`tcp-client:`/`tcp-server:`); `attach(peripheral, link)` on a virtual controller of a bumble
`LocalLink`, for tests. Reads call `on_read` (or return `value`), writes call `on_write` (or
replace `value`); an `AttError` they raise is the ATT error the central receives.

Not modelled: `rssi` (the radio's business), `connect_latency`, `advertises_while_connected`
(advertising stops on a connection and resumes when it ends). A `public` address is the
controller's own: give a real controller's peripheral a `random` (static) address to choose it.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Literal, TypeVar

from bumble import data_types
from bumble.att import ATT_Error, AttributeValue, ErrorCode
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData, DataType
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.gatt import Characteristic as GattCharacteristic
from bumble.gatt import Descriptor as GattDescriptor
from bumble.gatt import Service as GattService
from bumble.hci import Address, OwnAddressType
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from edge.sim.peripheral import (
    AttError,
    Characteristic,
    Descriptor,
    Peripheral,
    full_uuid,
)

logger = logging.getLogger(__name__)
_Result = TypeVar("_Result")
AddressType = Literal["public", "random"]

# Legacy advertising PDUs, which wearables use and every scanner hears, carry 31 bytes.
_LEGACY_DATA_SIZE = 31
_CCCD = full_uuid("2902")
_PROPERTIES = {
    "broadcast": GattCharacteristic.Properties.BROADCAST,
    "read": GattCharacteristic.Properties.READ,
    "write-without-response": GattCharacteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "write": GattCharacteristic.Properties.WRITE,
    "notify": GattCharacteristic.Properties.NOTIFY,
    "indicate": GattCharacteristic.Properties.INDICATE,
    "authenticated-signed-writes": GattCharacteristic.Properties.AUTHENTICATED_SIGNED_WRITES,
    "extended-properties": GattCharacteristic.Properties.EXTENDED_PROPERTIES,
}
_WRITE_FLAGS = frozenset({"write", "write-without-response", "authenticated-signed-writes"})


def bumble_uuid(uuid: str) -> UUID:
    """A UUID as bumble puts it on air: 16-bit when it is a SIG one, 128-bit otherwise."""
    full = full_uuid(uuid)
    short = full[4:8]
    return UUID(short if full_uuid(short) == full else full)


class BumblePeripheral:
    """A `Peripheral` served by a bumble `Device` on `host`. Use it as an async context manager
    (power on, advertise; on exit stop sending and power off), or through `serve` or `attach`."""

    def __init__(self, spec: Peripheral, host: Host,
                 address_type: AddressType | None = None) -> None:
        """`address_type` is how the peripheral's address goes on air, its own by default."""
        self.spec = spec
        self._address = _address(spec.address, address_type or spec.address_type)
        self.device = Device(config=_configuration(spec, self._address), host=host)
        self.device.gatt_server.max_mtu = spec.mtu
        self._characteristics: dict[str, tuple[Characteristic, GattCharacteristic[bytes]]] = {}
        self.device.add_services([self._service(service.uuid, service.characteristics,
                                                service.primary)
                                  for service in spec.services])
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._open = False
        self._in_range = True
        self._tasks: set[asyncio.Task[None]] = set()
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)

    async def __aenter__(self) -> "BumblePeripheral":
        await self.device.power_on()
        await self.advertise()
        self._open = True
        self._in_background(self._send_forever)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        # Closed first: powering off ends the connections, which must not restart advertising.
        self._open = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.device.power_off()

    async def advertise(self) -> None:
        """(Re)start advertising the peripheral's current name, services and data. Advertising
        stops on a connection and resumes when it ends."""
        data, scan_response = advertising_data(self.spec)
        interval = self.spec.advertising_interval
        await self.device.start_advertising(
            own_address_type=(OwnAddressType.PUBLIC if self._address.is_public
                              else OwnAddressType.RANDOM),
            advertising_data=data, scan_response_data=scan_response,
            advertising_interval_min=None if interval is None else interval * 1000,
            advertising_interval_max=None if interval is None else interval * 1000)

    def notify(self, characteristic_uuid: str, payload: bytes) -> None:
        """Send `payload` as a notification (or indication, as the characteristic's flags and
        each central's subscription say) to every subscribed central, after what was sent
        before. Callable from a write handler: the write's reply goes first."""
        if full_uuid(characteristic_uuid) not in self._characteristics:
            raise KeyError(f"{self.spec.address} has no characteristic {characteristic_uuid}")
        self._outbox.put_nowait((full_uuid(characteristic_uuid), payload))

    def drop_links(self) -> None:
        """End every connection, as on a link loss; advertising resumes."""
        for connection in list(self.device.connections.values()):
            self._in_background(connection.disconnect)

    def set_in_range(self, in_range: bool) -> None:
        """Out of range: connections end and advertising stops until back in range."""
        self._in_range = in_range
        if in_range:
            self._in_background(self.advertise)
        else:
            self._in_background(self.device.stop_advertising)
            self.drop_links()

    def _on_connection(self, connection: Connection) -> None:
        connection.once(connection.EVENT_DISCONNECTION, lambda _: self._readvertise())

    def _readvertise(self) -> None:
        if self._in_range:
            self._in_background(self.advertise)

    def _in_background(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._open:
            task = asyncio.create_task(work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_forever(self) -> None:
        while True:
            uuid, payload = await self._outbox.get()
            spec, attribute = self._characteristics[uuid]
            try:
                if "notify" in spec.flags:
                    await self.device.notify_subscribers(attribute, payload)
                if "indicate" in spec.flags:
                    await self.device.indicate_subscribers(attribute, payload)
            except Exception:
                # A central that leaves or never confirms an indication costs it that value
                # only, as it would a wearable's stack.
                logger.exception("%s: sending on %s failed", self.spec.address, uuid)

    def _service(self, uuid: str, characteristics: Sequence[Characteristic],
                 primary: bool) -> GattService:
        return GattService(bumble_uuid(uuid), [self._characteristic(c) for c in characteristics],
                           primary=primary)

    def _characteristic(self, spec: Characteristic) -> GattCharacteristic[bytes]:
        unknown = set(spec.flags) - _PROPERTIES.keys()
        if unknown:
            raise ValueError(f"characteristic {spec.uuid}: flags {sorted(unknown)} are not "
                             "served over bumble")
        properties = GattCharacteristic.Properties(0)
        for flag in spec.flags:
            properties |= _PROPERTIES[flag]
        attribute: GattCharacteristic[bytes] = GattCharacteristic(
            bumble_uuid(spec.uuid), properties, _permissions(spec.flags),
            AttributeValue(read=lambda _: _characteristic_read(spec),
                           write=lambda _, value: _characteristic_write(spec, value)),
            # bumble adds the CCCD of a notifying characteristic, and keeps its subscriptions.
            [_descriptor(d) for d in spec.descriptors if full_uuid(d.uuid) != _CCCD])
        self._characteristics[full_uuid(spec.uuid)] = (spec, attribute)
        return attribute


@asynccontextmanager
async def serve(peripheral: Peripheral, transport: str) -> AsyncIterator[BumblePeripheral]:
    """The peripheral on the controller at a bumble transport name: "usb:0", "tcp-client:…"."""
    hci = await open_transport(transport)
    try:
        async with BumblePeripheral(peripheral, Host(hci.source, hci.sink)) as served:
            yield served
    finally:
        await hci.close()


@asynccontextmanager
async def attach(peripheral: Peripheral, link: LocalLink) -> AsyncIterator[BumblePeripheral]:
    """The peripheral on a new virtual controller on `link`. Its address goes on air as a random
    one whatever its type: a LocalLink delivers LE data from a controller's random address."""
    controller = Controller(peripheral.name or peripheral.address, link=link)
    try:
        async with BumblePeripheral(peripheral, Host(controller, AsyncPipeSink(controller)),
                                    "random") as served:
            yield served
    finally:
        link.remove_controller(controller)


def advertising_data(spec: Peripheral) -> tuple[bytes, bytes]:
    """The advertising and scan response data: flags, 16-bit service UUIDs, name, 128-bit
    service UUIDs, manufacturer data, service data, TX power, each in the first with room.
    Raises ValueError when one fits neither."""
    packets: tuple[list[bytes], list[bytes]] = ([], [])
    for item in _advertised(spec):
        structure = bytes(AdvertisingData([item]))
        packet = next((p for p in packets if len(b"".join(p)) + len(structure)
                       <= _LEGACY_DATA_SIZE), None)
        if packet is None:
            raise ValueError(f"{spec.address}: {item} does not fit the advertisement")
        packet.append(structure)
    return b"".join(packets[0]), b"".join(packets[1])


def _advertised(spec: Peripheral) -> Iterator[DataType]:
    yield data_types.Flags(AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE
                           | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED)
    uuids = [bumble_uuid(u) for u in spec.service_uuids]
    short = [u for u in uuids if len(u.uuid_bytes) == 2]
    if short:
        yield data_types.CompleteListOf16BitServiceUUIDs(short)
    if spec.name is not None:
        yield data_types.CompleteLocalName(spec.name)
    long = [u for u in uuids if len(u.uuid_bytes) == 16]
    if long:
        yield data_types.CompleteListOf128BitServiceUUIDs(long)
    for company, data in spec.manufacturer_data.items():
        yield data_types.ManufacturerSpecificData(company, data)
    for uuid, data in spec.service_data.items():
        yield _service_data(bumble_uuid(uuid), data)
    if spec.tx_power is not None:
        yield data_types.TxPowerLevel(spec.tx_power)


def _service_data(uuid: UUID, data: bytes) -> data_types.ServiceData:
    if len(uuid.uuid_bytes) == 2:
        return data_types.ServiceData16BitUUID(uuid, data)
    return data_types.ServiceData128BitUUID(uuid, data)


def _configuration(spec: Peripheral, address: Address) -> DeviceConfiguration:
    """bumble's own GAP and GATT services, unless the peripheral has its own."""
    services = {full_uuid(s.uuid) for s in spec.services}
    return DeviceConfiguration(name=spec.name or "", address=address,
                               gap_service_enabled=full_uuid("1800") not in services,
                               gatt_service_enabled=full_uuid("1801") not in services)


def _address(address: str, address_type: AddressType) -> Address:
    return Address(address, Address.PUBLIC_DEVICE_ADDRESS if address_type == "public"
                   else Address.RANDOM_DEVICE_ADDRESS)


def _permissions(flags: Sequence[str]) -> GattCharacteristic.Permissions:
    permissions = GattCharacteristic.Permissions(0)
    if "read" in flags:
        permissions |= GattCharacteristic.Permissions.READABLE
    if _WRITE_FLAGS & set(flags):
        permissions |= GattCharacteristic.Permissions.WRITEABLE
    return permissions


def _characteristic_read(spec: Characteristic) -> bytes:
    _require("read" in spec.flags, ErrorCode.READ_NOT_PERMITTED)
    return _call(spec.on_read) if spec.on_read else spec.value


def _characteristic_write(spec: Characteristic, value: bytes) -> None:
    # bumble's server leaves write permissions to the attribute.
    _require(bool(_WRITE_FLAGS & set(spec.flags)), ErrorCode.WRITE_NOT_PERMITTED)
    on_write = spec.on_write
    if on_write is None:
        spec.value = value
    else:
        _call(lambda: on_write(value))


def _descriptor(spec: Descriptor) -> GattDescriptor:
    def read(_: Connection) -> bytes:
        _require("read" in spec.flags, ErrorCode.READ_NOT_PERMITTED)
        return spec.value

    def write(_: Connection, value: bytes) -> None:
        _require("write" in spec.flags, ErrorCode.WRITE_NOT_PERMITTED)
        spec.value = value

    return GattDescriptor(bumble_uuid(spec.uuid), _permissions(spec.flags),
                          AttributeValue(read=read, write=write))


def _require(allowed: bool, refusal: ErrorCode) -> None:
    if not allowed:
        raise ATT_Error(refusal)


def _call(handler: Callable[[], _Result]) -> _Result:
    """Run a peripheral's handler; its AttError becomes the ATT error the central receives."""
    try:
        return handler()
    except AttError as refusal:
        raise ATT_Error(refusal.code) from refusal
