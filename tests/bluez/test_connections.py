"""Connecting, disconnecting and reconnecting with bleak's real BleakClient."""

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError

from edge.sim.bluez import BluezEmulator, errors
from tests.bluez.support import (
    HEART_RATE_MEASUREMENT,
    heart_rate,
    heart_rate_strap,
    run,
    wait_for_length,
    wait_until,
)

STRAP = "A0:9E:1A:00:00:01"


async def find(address: str = STRAP) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(address, timeout=5)
    assert device is not None
    return device


def test_connecting_by_address_scans_first_then_connects(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            async with BleakClient(STRAP, timeout=5) as client:
                assert client.is_connected
                assert bluez.is_connected(STRAP)
            assert not bluez.is_connected(STRAP)

    run(scenario())


def test_a_peripheral_initiated_disconnect_fires_the_disconnected_callback(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            dropped = asyncio.Event()
            received: list[bytes] = []
            client = BleakClient(await find(), disconnected_callback=lambda _: dropped.set())
            await client.connect()
            await client.start_notify(HEART_RATE_MEASUREMENT,
                                      lambda _, data: received.append(bytes(data)))
            bluez.notify(STRAP, HEART_RATE_MEASUREMENT, heart_rate(70))
            await wait_until(lambda: bool(received))
            bluez.disconnect_by_peripheral(STRAP)
            await asyncio.wait_for(dropped.wait(), 5)
            assert not client.is_connected
            await client.disconnect()
            assert bluez.active_connections() == 0

    run(scenario())


def test_the_same_device_connects_and_disconnects_fifty_times(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            device = await find()
            received: list[bytes] = []
            for bpm in range(50):
                async with BleakClient(device) as client:
                    await client.start_notify(HEART_RATE_MEASUREMENT,
                                              lambda _, data: received.append(bytes(data)))
                    bluez.notify(STRAP, HEART_RATE_MEASUREMENT, heart_rate(bpm))
                    await wait_for_length(received, bpm + 1)
            assert received == [heart_rate(bpm) for bpm in range(50)]
            counters = bluez.peripheral_counters(STRAP)
            assert (counters.connections, counters.disconnections) == (50, 50)
            assert bluez.active_connections() == 0

    run(scenario())


def test_five_devices_stream_notifications_at_once(system_bus: str) -> None:
    addresses = [f"A0:9E:1A:00:00:0{index}" for index in range(1, 6)]

    async def stream(client: BleakClient, address: str, bluez: BluezEmulator) -> list[bytes]:
        received: list[bytes] = []
        await client.start_notify(HEART_RATE_MEASUREMENT,
                                  lambda _, data: received.append(bytes(data)))
        await bluez.flood(address, HEART_RATE_MEASUREMENT,
                          (heart_rate(bpm) for bpm in range(200)), rate_hz=2000)
        await wait_until(lambda: len(received) == 200)
        return received

    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            for address in addresses:
                bluez.add_peripheral(heart_rate_strap(address))
            devices = [await find(address) for address in addresses]
            clients = [BleakClient(device) for device in devices]
            await asyncio.gather(*(client.connect() for client in clients))
            assert bluez.active_connections() == 5
            streams = await asyncio.gather(*(
                stream(client, address, bluez) for client, address in zip(clients, addresses,
                                                                          strict=True)))
            await asyncio.gather(*(client.disconnect() for client in clients))
            assert streams == [[heart_rate(bpm) for bpm in range(200)]] * 5
            assert (bluez.counters.connections, bluez.counters.notifications_sent) == (5, 1000)

    run(scenario())


def test_connects_beyond_the_adapter_limit_fail_like_an_exhausted_controller(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus, max_connections=2) as bluez:
            for index in range(1, 4):
                bluez.add_peripheral(heart_rate_strap(f"A0:9E:1A:00:00:0{index}"))
            first, second, third = [
                BleakClient(await find(f"A0:9E:1A:00:00:0{index}")) for index in range(1, 4)]
            await first.connect()
            await second.connect()
            with pytest.raises(BleakDBusError) as refused:
                await third.connect()
            assert (refused.value.dbus_error, refused.value.dbus_error_details) == (
                errors.OUT_OF_SLOTS.name, errors.OUT_OF_SLOTS.message)
            await first.disconnect()
            await third.connect()
            assert bluez.active_connections("hci0") == 2
            await second.disconnect()
            await third.disconnect()

    run(scenario())


def test_power_off_drops_connections_and_power_on_allows_reconnecting(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            device = await find()
            dropped = asyncio.Event()
            client = BleakClient(device, disconnected_callback=lambda _: dropped.set())
            await client.connect()
            bluez.set_powered("hci0", False)
            await asyncio.wait_for(dropped.wait(), 5)
            with pytest.raises(BleakDBusError) as refused:
                await BleakClient(device).connect()
            assert refused.value.dbus_error == errors.NOT_READY.name
            bluez.set_powered("hci0", True)
            async with BleakClient(device) as again:
                assert again.is_connected

    run(scenario())


def test_a_vanished_device_disconnects_and_is_found_again_when_it_returns(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            dropped = asyncio.Event()
            client = BleakClient(await find(), disconnected_callback=lambda _: dropped.set())
            await client.connect()
            bluez.vanish(STRAP)
            await asyncio.wait_for(dropped.wait(), 5)
            assert await BleakScanner.find_device_by_address(STRAP, timeout=0.3) is None
            bluez.reappear(STRAP)
            async with BleakClient(await find()) as again:
                assert again.is_connected

    run(scenario())


def test_remove_device_forgets_a_connected_device_until_it_advertises_again(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            dropped = asyncio.Event()
            client = BleakClient(await find(), disconnected_callback=lambda _: dropped.set())
            await client.connect()
            await client.unpair()  # Adapter1.RemoveDevice
            await asyncio.wait_for(dropped.wait(), 5)
            assert not bluez.is_connected(STRAP)
            async with BleakClient(await find()) as again:
                assert again.is_connected

    run(scenario())


def test_a_removed_peripheral_disconnects_and_is_gone(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            dropped = asyncio.Event()
            client = BleakClient(await find(), disconnected_callback=lambda _: dropped.set())
            await client.connect()
            bluez.remove_peripheral(STRAP)
            await asyncio.wait_for(dropped.wait(), 5)
            assert await BleakScanner.find_device_by_address(STRAP, timeout=0.2) is None

    run(scenario())
