"""bleak's real BleakScanner against the emulated bluetoothd."""

import pytest
from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from edge.sim.bluez import BluezEmulator, full_uuid
from tests.bluez.support import (
    HEART_RATE_SERVICE,
    PMD_SERVICE,
    POLAR_COMPANY_ID,
    heart_rate_strap,
    run,
    wait_for_length,
    wait_until,
)

Sighting = tuple[BLEDevice, AdvertisementData]


def test_scanner_reports_a_strap_with_its_service_uuids_and_manufacturer_data(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap(rssi=-48, tx_power=4,
                                                  service_data={"180d": b"\x01"}))
            sightings: list[Sighting] = []
            async with BleakScanner(detection_callback=lambda d, a: sightings.append((d, a))):
                await wait_until(lambda: bool(sightings))
            device, advertisement = sightings[0]
            assert (device.address, device.name) == ("A0:9E:1A:00:00:01", "Polar H10 00000001")
            assert advertisement.service_uuids == [full_uuid(HEART_RATE_SERVICE),
                                                   full_uuid(PMD_SERVICE)]
            assert advertisement.manufacturer_data == {POLAR_COMPANY_ID: b"\x33\x1e\x33\x33"}
            assert advertisement.service_data == {full_uuid(HEART_RATE_SERVICE): b"\x01"}
            assert (advertisement.rssi, advertisement.tx_power) == (-48, 4)

    run(scenario())


def test_a_device_already_known_is_reported_to_a_new_scanner(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            # One advertisement per scan: only bluetoothd's bookkeeping can make it count twice.
            bluez.add_peripheral(heart_rate_strap(advertising_interval=None))
            sightings: list[Sighting] = []
            for scan in range(1, 3):
                async with BleakScanner(
                        detection_callback=lambda d, a: sightings.append((d, a))):
                    await wait_for_length(sightings, scan)
            assert [device.address for device, _ in sightings] == ["A0:9E:1A:00:00:01"] * 2

    run(scenario())


def test_a_new_advertisement_fires_the_scanner_callback_again_with_fresh_data(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap(advertising_interval=None))
            sightings: list[Sighting] = []
            async with BleakScanner(detection_callback=lambda d, a: sightings.append((d, a))):
                await wait_until(lambda: len(sightings) == 1)
                bluez.advertise("A0:9E:1A:00:00:01", rssi=-90,
                                manufacturer_data={POLAR_COMPANY_ID: b"\x01"})
                await wait_until(lambda: len(sightings) == 2)
            latest = sightings[-1][1]
            assert latest.rssi == -90
            assert latest.manufacturer_data == {POLAR_COMPANY_ID: b"\x01"}

    run(scenario())


def test_service_uuid_filter_hides_other_devices(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            bluez.add_peripheral(heart_rate_strap("C0:00:00:00:00:02", service_uuids=["1809"]))
            sightings: list[Sighting] = []
            async with BleakScanner(detection_callback=lambda d, a: sightings.append((d, a)),
                                    service_uuids=[full_uuid("1809")]):
                await wait_until(lambda: len(sightings) >= 3)
            assert {device.address for device, _ in sightings} == {"C0:00:00:00:00:02"}

    run(scenario())


def test_a_second_scanner_in_the_same_process_is_refused(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus):
            # bleak's scanners share one D-Bus connection: one discovery session per adapter.
            async with BleakScanner():
                with pytest.raises(BleakDBusError) as refused:
                    await BleakScanner().start()
            assert refused.value.dbus_error == "org.bluez.Error.InProgress"

    run(scenario())


def test_a_client_leaving_the_bus_ends_its_discovery_session(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            client = await MessageBus(bus_address=system_bus).connect()
            reply = await client.call(Message(
                destination="org.bluez", path="/org/bluez/hci0",
                interface="org.bluez.Adapter1", member="StartDiscovery"))
            assert reply is not None and reply.message_type is MessageType.METHOD_RETURN
            assert bluez.is_discovering()
            client.disconnect()
            await wait_until(lambda: not bluez.is_discovering())

    run(scenario())
