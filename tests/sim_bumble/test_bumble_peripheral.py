"""The virtual wearables served over bumble, met by a bumble central on one in-process LocalLink
(each device has its own virtual controller, as two radios would)."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import pytest
from bumble import data_types
from bumble.att import ATT_Error, ErrorCode
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from edge.gatt import (
    BatteryLevel,
    HeartRateMeasurement,
    PmdControlPointResponse,
    PmdDataFrame,
    decode,
)
from edge.gatt.device_information import ManufacturerName
from edge.gatt.polar_pmd import PmdMeasurementType
from edge.gatt.polar_pmd_control_point import PmdOpCode, PmdSettingType, start_measurement
from edge.sim.bluez import AttError, Characteristic, Descriptor, Peripheral, Service
from edge.sim.radio.bumble_peripheral import (
    BumblePeripheral,
    advertising_data,
    attach,
    bumble_uuid,
    serve,
)
from tests.bluez.support import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
    PMD_CONTROL_POINT,
    PMD_DATA,
    PMD_SERVICE,
    POLAR_COMPANY_ID,
    heart_rate_strap,
    run,
    wait_until,
)

NAME = "Polar H10 00000001"
MANUFACTURER = "Polar Electro Oy"
SETTINGS_CODE = "2a99"  # refuses reads (Unlikely Error) and writes (an application error)
LABEL = "2a98"  # written by the central, kept by a handler
USER_DESCRIPTION = "2901"
START_ECG = start_measurement(PmdMeasurementType.ECG, {PmdSettingType.SAMPLE_RATE: 130,
                                                       PmdSettingType.RESOLUTION: 14})


@dataclass
class Radio:
    central: Device
    peripheral: BumblePeripheral


def strap(written: list[bytes]) -> Peripheral:
    """The strap of the BlueZ tests, with Device Information, a characteristic whose reads fail,
    one whose writes land in `written`, and 20 ms advertising (the virtual controller keeps it)."""
    base = heart_rate_strap()

    def refuse_read() -> bytes:
        raise AttError(0x0E)

    def refuse_write(_: bytes) -> None:
        raise AttError(0x80)

    extra = [
        Service("180a", [Characteristic("2a29", ["read"], ManufacturerName(MANUFACTURER)
                                        .to_bytes())]),
        Service("fff0", [
            Characteristic(SETTINGS_CODE, ["read", "write"], on_read=refuse_read,
                           on_write=refuse_write),
            Characteristic(LABEL, ["write"], on_write=written.append,
                           descriptors=[Descriptor(USER_DESCRIPTION, b"Label")]),
        ]),
    ]
    return replace(base, services=[*base.services, *extra], advertising_interval=0.02)


@asynccontextmanager
async def central_on(link: LocalLink) -> AsyncIterator[Device]:
    controller = Controller("central", link=link)
    central = Device(address=Address("F1:F1:F1:F1:F1:F1"),
                     host=Host(controller, AsyncPipeSink(controller)))
    await central.power_on()
    try:
        yield central
    finally:
        await central.power_off()


@asynccontextmanager
async def radio(peripheral: Peripheral) -> AsyncIterator[Radio]:
    link = LocalLink()
    async with central_on(link) as central, attach(peripheral, link) as served:
        yield Radio(central, served)


@asynccontextmanager
async def controller_at_tcp_port(link: LocalLink) -> AsyncIterator[int]:
    """A virtual controller on `link` that a host reaches through bumble's TCP transport, as
    it would a controller on a test rig; yields the port."""
    with socket.socket() as listening:  # bumble's transport leaves it open
        listening.bind(("127.0.0.1", 0))
        hci = await open_tcp_server_transport_with_socket(listening)
        Controller("dongle", host_source=hci.source, host_sink=hci.sink, link=link)
        try:
            yield listening.getsockname()[1]
        finally:
            await hci.close()


async def find(central: Device, name: str) -> Advertisement:
    found: asyncio.Future[Advertisement] = asyncio.get_running_loop().create_future()

    def on_advertisement(advertisement: Advertisement) -> None:
        if (data_types.CompleteLocalName.from_advertising_data(advertisement.data) == name
                and not found.done()):
            found.set_result(advertisement)

    central.on(central.EVENT_ADVERTISEMENT, on_advertisement)
    await central.start_scanning()
    try:
        return await asyncio.wait_for(found, 5)
    finally:
        await central.stop_scanning()


async def connect(radio: Radio) -> Peer:
    advertisement = await find(radio.central, NAME)
    peer = Peer(await asyncio.wait_for(radio.central.connect(advertisement.address), 5))
    await asyncio.wait_for(peer.request_mtu(radio.peripheral.spec.mtu), 5)
    await asyncio.wait_for(peer.discover_services(), 5)
    for service in peer.services:
        await asyncio.wait_for(peer.discover_characteristics(service=service), 5)
    return peer


def characteristic(peer: Peer, uuid: str) -> CharacteristicProxy[bytes]:
    (found,) = peer.get_characteristics_by_uuid(bumble_uuid(uuid))
    return found


async def read(peer: Peer, uuid: str) -> bytes:
    return await asyncio.wait_for(peer.read_value(characteristic(peer, uuid)), 5)


async def write(peer: Peer, uuid: str, value: bytes) -> None:
    await asyncio.wait_for(peer.write_value(characteristic(peer, uuid), value,
                                            with_response=True), 5)


async def subscribe(peer: Peer, uuid: str) -> list[bytes]:
    received: list[bytes] = []
    await asyncio.wait_for(peer.subscribe(characteristic(peer, uuid), received.append), 5)
    return received


def test_a_central_finds_the_strap_by_name_and_heart_rate_service() -> None:
    async def scenario() -> None:
        async with radio(strap([])) as air:
            advertisement = await find(air.central, NAME)
            uuids = data_types.CompleteListOf16BitServiceUUIDs.from_advertising_data(
                advertisement.data)
            assert uuids is not None and bumble_uuid(HEART_RATE_SERVICE) in uuids.uuids
            assert advertisement.is_connectable

    run(scenario())


def test_the_strap_advertises_again_once_its_central_disconnects() -> None:
    async def scenario() -> None:
        async with radio(strap([])) as air:
            peer = await connect(air)
            await asyncio.wait_for(peer.connection.disconnect(), 5)
            assert (await find(air.central, NAME)).is_connectable

    run(scenario())


def test_reads_return_the_battery_level_and_device_information() -> None:
    async def scenario() -> None:
        async with radio(strap([])) as air:
            peer = await connect(air)
            assert decode(BATTERY_LEVEL, await read(peer, BATTERY_LEVEL)) == BatteryLevel(80)
            assert decode("2a29", await read(peer, "2a29")) == ManufacturerName(MANUFACTURER)

    run(scenario())


def test_heart_rate_notifications_decode_to_what_they_were_made_from() -> None:
    sent = [HeartRateMeasurement(60 + i, True, None, (1000 - i, 990 + i)) for i in range(5)]

    async def scenario() -> None:
        async with radio(strap([])) as air:
            peer = await connect(air)
            received = await subscribe(peer, HEART_RATE_MEASUREMENT)
            for measurement in sent:
                air.peripheral.notify(HEART_RATE_MEASUREMENT, measurement.to_bytes())
            await wait_until(lambda: len(received) == len(sent))
            assert [decode(HEART_RATE_MEASUREMENT, data) for data in received] == sent

    run(scenario())


def test_att_errors_from_handlers_and_flags_reach_the_central() -> None:
    async def scenario() -> None:
        async with radio(strap([])) as air:
            peer = await connect(air)
            with pytest.raises(ATT_Error) as refused_read:
                await read(peer, SETTINGS_CODE)
            with pytest.raises(ATT_Error) as refused_write:
                await write(peer, SETTINGS_CODE, b"\x01")
            with pytest.raises(ATT_Error) as not_readable:
                await read(peer, HEART_RATE_MEASUREMENT)
            with pytest.raises(ATT_Error) as not_writable:
                await write(peer, BATTERY_LEVEL, b"\x01")
            codes = [refused.value.error_code for refused in
                     (refused_read, refused_write, not_readable, not_writable)]
            assert codes == [0x0E, 0x80, ErrorCode.READ_NOT_PERMITTED,
                             ErrorCode.WRITE_NOT_PERMITTED]

    run(scenario())


def test_a_write_reaches_the_write_handler_and_descriptors_are_served() -> None:
    written: list[bytes] = []

    async def scenario() -> None:
        async with radio(strap(written)) as air:
            peer = await connect(air)
            await write(peer, LABEL, b"chest")
            assert written == [b"chest"]
            (description,) = await asyncio.wait_for(
                peer.discover_descriptors(characteristic(peer, LABEL)), 5)
            assert description.type == bumble_uuid(USER_DESCRIPTION)
            assert await asyncio.wait_for(peer.read_value(description), 5) == b"Label"

    run(scenario())


def test_a_control_point_write_is_indicated_and_ecg_frames_decode() -> None:
    answer = PmdControlPointResponse(PmdOpCode.REQUEST_MEASUREMENT_START,
                                     PmdMeasurementType.ECG, 0)
    frames = [PmdDataFrame.ecg(1_000_000 * i, [i, -i, 2 * i, 1000 + i] * 18) for i in range(3)]

    async def scenario() -> None:
        device = strap([])
        async with radio(device) as air:
            device.find_characteristic(PMD_CONTROL_POINT).on_write = \
                lambda _: air.peripheral.notify(PMD_CONTROL_POINT, answer.to_bytes())
            peer = await connect(air)
            answers = await subscribe(peer, PMD_CONTROL_POINT)
            data = await subscribe(peer, PMD_DATA)
            await write(peer, PMD_CONTROL_POINT, START_ECG)
            await wait_until(lambda: len(answers) == 1)
            assert decode(PMD_CONTROL_POINT, answers[0]) == answer
            for frame in frames:
                air.peripheral.notify(PMD_DATA, frame.to_bytes())
            await wait_until(lambda: len(data) == len(frames))
            assert [decode(PMD_DATA, d) for d in data] == frames

    run(scenario())


def test_what_does_not_fit_the_advertisement_goes_to_the_scan_response() -> None:
    data, scan_response = (AdvertisingData.from_bytes(b) for b in advertising_data(strap([])))
    assert data_types.CompleteLocalName.from_advertising_data(data) == NAME
    assert data_types.CompleteListOf128BitServiceUUIDs.from_advertising_data(
        scan_response) == data_types.CompleteListOf128BitServiceUUIDs([UUID(PMD_SERVICE)])
    assert data_types.ManufacturerSpecificData.from_advertising_data(scan_response) == \
        data_types.ManufacturerSpecificData(POLAR_COMPANY_ID, b"\x33\x1e\x33\x33")
    with pytest.raises(ValueError, match="does not fit"):
        advertising_data(replace(strap([]), name="x" * 30))


def test_serve_runs_the_strap_on_the_controller_at_a_transport_name() -> None:
    # A LocalLink routes LE data by random address, so the strap takes one here.
    device = replace(strap([]), address_type="random")

    async def scenario() -> None:
        link = LocalLink()
        async with (controller_at_tcp_port(link) as port, central_on(link) as central,
                    serve(device, f"tcp-client:127.0.0.1:{port}") as served):
            peer = await connect(Radio(central, served))
            assert decode(BATTERY_LEVEL, await read(peer, BATTERY_LEVEL)) == BatteryLevel(80)

    run(scenario())
