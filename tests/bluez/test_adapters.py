"""Several adapters: each has its own connection slots, and one can be unplugged."""

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError

from edge.sim.bluez import BluezEmulator, errors
from tests.bluez.support import heart_rate_strap, run

FIRST, SECOND = "A0:9E:1A:00:00:01", "A0:9E:1A:00:00:02"


async def find(address: str, adapter: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(address, timeout=5,
                                                       bluez={"adapter": adapter})
    assert device is not None
    return device


def test_a_second_adapter_connects_when_the_first_is_full_and_can_be_unplugged(
        system_bus: str) -> None:
    async def scenario() -> None:
        async with BluezEmulator(system_bus, adapters=("hci0", "hci1"),
                                 max_connections=1) as bluez:
            bluez.add_peripheral(heart_rate_strap(FIRST))
            bluez.add_peripheral(heart_rate_strap(SECOND))
            on_hci0 = BleakClient(await find(FIRST, "hci0"))
            await on_hci0.connect()
            with pytest.raises(BleakDBusError) as refused:
                await BleakClient(await find(SECOND, "hci0")).connect()
            assert refused.value.dbus_error_details == errors.OUT_OF_SLOTS.message
            unplugged = asyncio.Event()
            on_hci1 = BleakClient(await find(SECOND, "hci1"),
                                  disconnected_callback=lambda _: unplugged.set())
            await on_hci1.connect()
            assert (bluez.active_connections("hci0"), bluez.active_connections("hci1")) == (1, 1)
            bluez.remove_adapter("hci1")
            await asyncio.wait_for(unplugged.wait(), 5)
            assert on_hci0.is_connected
            await on_hci0.disconnect()

    run(scenario())
