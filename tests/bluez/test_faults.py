"""Injected faults, as bleak's real BlueZ backend sees them."""

import asyncio
import contextlib

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError

from edge.sim.bluez import BluezEmulator, BluezError, errors
from tests.bluez.support import (
    HEART_RATE_MEASUREMENT,
    PMD_DATA,
    heart_rate,
    heart_rate_strap,
    run,
    wait_until,
)

STRAP = "A0:9E:1A:00:00:01"


async def find() -> BLEDevice:
    device = await BleakScanner.find_device_by_address(STRAP, timeout=5)
    assert device is not None
    return device


@pytest.mark.parametrize("error", [errors.IN_PROGRESS, errors.SOFTWARE_ABORT, errors.OUT_OF_SLOTS],
                         ids=lambda error: error.message)
def test_an_injected_connect_error_surfaces_as_a_bleak_dbus_error(
        system_bus: str, error: BluezError) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            device = await find()
            bluez.fail_next_connects(STRAP, error)
            with pytest.raises(BleakDBusError) as failed:
                await BleakClient(device).connect()
            assert (failed.value.dbus_error, failed.value.dbus_error_details) == (
                error.name, error.message)
            async with BleakClient(device) as client:
                assert client.is_connected
            counters = bluez.peripheral_counters(STRAP)
            assert (counters.connect_attempts, counters.connect_failures) == (2, 1)

    run(scenario())


def test_bleak_retries_le_connection_abort_by_local_by_itself(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            device = await find()
            bluez.fail_next_connects(STRAP, errors.LE_ABORT_BY_LOCAL, count=3)
            async with BleakClient(device, timeout=5) as client:
                assert client.is_connected
            assert bluez.peripheral_counters(STRAP).connect_attempts == 4

    run(scenario())


def test_a_connect_slower_than_the_client_timeout_is_cancelled(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            device = await find()
            bluez.set_connect_latency(STRAP, 5)
            with pytest.raises(asyncio.TimeoutError):
                await BleakClient(device, timeout=1).connect()
            # bleak's Disconnect cancelled the pending Connect, which freed the slot at once.
            await wait_until(lambda: bluez.peripheral_counters(STRAP).connect_failures == 1)
            bluez.set_connect_latency(STRAP, 0.05)
            async with BleakClient(device) as client:
                assert client.is_connected

    run(scenario())


def test_a_second_connect_while_one_is_pending_is_refused_when_the_adapter_says_so(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus, adapters=()) as bluez:
            bluez.add_adapter("hci0", concurrent_connect_error=errors.IN_PROGRESS)
            bluez.add_peripheral(heart_rate_strap(connect_latency=30))
            bluez.add_peripheral(heart_rate_strap("A0:9E:1A:00:00:02"))
            first = BleakClient(await find())
            second_device = await BleakScanner.find_device_by_address("A0:9E:1A:00:00:02")
            assert second_device is not None
            pending = asyncio.create_task(first.connect())
            await wait_until(lambda: bluez.peripheral_counters(STRAP).connect_attempts == 1)
            with pytest.raises(BleakDBusError) as refused:
                await BleakClient(second_device).connect()
            assert refused.value.dbus_error == errors.IN_PROGRESS.name
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
            # bleak's Disconnect on cancellation ended the pending Connect: the adapter is free.
            await wait_until(lambda: bluez.peripheral_counters(STRAP).connect_failures == 1)
            async with BleakClient(second_device) as client:
                assert client.is_connected

    run(scenario())


def test_a_notification_flood_arrives_complete_and_in_order(system_bus: str) -> None:
    count = 5000

    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            received: list[bytes] = []
            async with BleakClient(await find()) as client:
                await client.start_notify(PMD_DATA, lambda _, data: received.append(bytes(data)))
                payloads = [index.to_bytes(4, "little") * 50 for index in range(count)]
                assert await bluez.flood(STRAP, PMD_DATA, payloads) == count
                await wait_until(lambda: len(received) == count, timeout_s=15)
            assert received == payloads

    run(scenario(), timeout_s=30)


def test_a_flood_at_a_given_rate_takes_as_long_as_it_should(system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            bluez.add_peripheral(heart_rate_strap())
            async with BleakClient(await find()) as client:
                await client.start_notify(HEART_RATE_MEASUREMENT, lambda _, __: None)
                loop = asyncio.get_running_loop()
                started = loop.time()
                await bluez.flood(STRAP, HEART_RATE_MEASUREMENT, [heart_rate(60)] * 50,
                                  rate_hz=200)
                assert 0.2 <= loop.time() - started < 1.0

    run(scenario())


def test_adapter_power_off_while_scanning_ends_discovery_and_refuses_a_new_scan(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus) as bluez:
            scanner = BleakScanner()
            await scanner.start()
            bluez.set_powered("hci0", False)
            assert not bluez.is_discovering()
            await scanner.stop()  # bleak accepts NotReady here: the adapter is off
            bluez.set_powered("hci0", True)
            # Named, since bleak may not have heard yet that the default adapter is back on.
            async with BleakScanner(bluez={"adapter": "hci0"}):
                assert bluez.is_discovering()

    run(scenario())
