"""Reads, writes and notifications through bleak's real BleakClient."""

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakGATTProtocolError
from dbus_fast import Message, Variant
from dbus_fast.aio import MessageBus

from edge.sim.bluez import AttError, BluezEmulator, full_uuid
from tests.bluez.support import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    HEART_RATE_MEASUREMENT,
    PMD_CONTROL_POINT,
    heart_rate,
    heart_rate_strap,
    run,
    wait_until,
)

STRAP = "A0:9E:1A:00:00:01"
START_ECG = bytes.fromhex("02000001820001010e00")


async def find_strap() -> BLEDevice:
    device = await BleakScanner.find_device_by_address(STRAP, timeout=5)
    assert device is not None
    return device


def test_client_reads_the_battery_level_and_writes_a_characteristic(system_bus: str) -> None:
    async def scenario() -> None:
        # As with `bluetoothd -P battery`: the Battery Service is exported like any other.
        async with BluezEmulator(system_bus, battery_plugin=False) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            async with BleakClient(await find_strap()) as client:
                assert await client.read_gatt_char(BATTERY_LEVEL) == b"\x50"
                await client.write_gatt_char(PMD_CONTROL_POINT, START_ECG, response=True)
                assert await client.read_gatt_char(PMD_CONTROL_POINT) == START_ECG
            assert bluez.peripheral(STRAP).find_characteristic(PMD_CONTROL_POINT).value == \
                START_ECG

    run(scenario())


def test_stock_bluetoothd_hides_claimed_services_and_shows_battery1_instead(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            async with BleakClient(await find_strap()) as client:
                uuids = {service.uuid for service in client.services}
                assert full_uuid(BATTERY_SERVICE) not in uuids
                assert full_uuid("1800") not in uuids
                assert await battery_percentage(system_bus) == 80
                bluez.notify(STRAP, BATTERY_LEVEL, b"\x4b")
                assert await battery_percentage(system_bus) == 75

    run(scenario())


async def battery_percentage(address: str) -> int:
    bus = await MessageBus(bus_address=address).connect()
    try:
        reply = await bus.call(Message(
            destination="org.bluez", path=f"/org/bluez/hci0/dev_{STRAP.replace(':', '_')}",
            interface="org.freedesktop.DBus.Properties", member="Get", signature="ss",
            body=["org.bluez.Battery1", "Percentage"]))
        assert reply is not None
        value: Variant = reply.body[0]
        return int(value.value)
    finally:
        bus.disconnect()


def test_notifications_arrive_in_order_and_only_while_subscribed(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            received: list[bytes] = []
            async with BleakClient(await find_strap()) as client:
                bluez.notify(STRAP, HEART_RATE_MEASUREMENT, heart_rate(59))
                await client.start_notify(HEART_RATE_MEASUREMENT,
                                          lambda _, data: received.append(bytes(data)))
                assert bluez.is_notifying(STRAP, HEART_RATE_MEASUREMENT)
                for bpm in range(60, 160):
                    bluez.notify(STRAP, HEART_RATE_MEASUREMENT, heart_rate(bpm))
                await wait_until(lambda: len(received) == 100)
                await client.stop_notify(HEART_RATE_MEASUREMENT)
                bluez.notify(STRAP, HEART_RATE_MEASUREMENT, heart_rate(160))
            assert received == [heart_rate(bpm) for bpm in range(60, 160)]
            counters = bluez.peripheral_counters(STRAP)
            assert (counters.notifications_sent, counters.notifications_dropped) == (100, 2)

    run(scenario())


def test_a_control_point_write_is_answered_by_an_indication(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            strap = heart_rate_strap()
            # Polar answers a control point command with an indication: 0xF0, op, type, status.
            strap.find_characteristic(PMD_CONTROL_POINT).on_write = lambda command: bluez.notify(
                STRAP, PMD_CONTROL_POINT, b"\xf0" + command[:2] + b"\x00")
            bluez.add_peripheral(strap)
            answers: list[bytes] = []
            async with BleakClient(await find_strap()) as client:
                await client.start_notify(PMD_CONTROL_POINT,
                                          lambda _, data: answers.append(bytes(data)))
                await client.write_gatt_char(PMD_CONTROL_POINT, START_ECG, response=True)
                await wait_until(lambda: bool(answers))
            assert answers == [b"\xf0\x02\x00\x00"]

    run(scenario())


def test_malformed_payloads_reach_the_client_unchanged(system_bus: str) -> None:
    payloads = [b"", b"\x10", b"\xff" * 244, bytes(range(256))]

    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            received: list[bytes] = []
            async with BleakClient(await find_strap()) as client:
                await client.start_notify(HEART_RATE_MEASUREMENT,
                                          lambda _, data: received.append(bytes(data)))
                for payload in payloads:
                    bluez.notify(STRAP, HEART_RATE_MEASUREMENT, payload)
                await wait_until(lambda: len(received) == len(payloads))
            assert received == payloads

    run(scenario())


def test_an_att_error_from_the_peripheral_becomes_a_bleak_gatt_protocol_error(
        system_bus: str) -> None:
    def refuse(_: bytes) -> None:
        raise AttError(0x80)

    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            strap = heart_rate_strap()
            strap.find_characteristic(PMD_CONTROL_POINT).on_write = refuse
            bluez.add_peripheral(strap)
            async with BleakClient(await find_strap()) as client:
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.write_gatt_char(PMD_CONTROL_POINT, b"\x99", response=True)
                assert refused.value.code == 0x80

    run(scenario())
