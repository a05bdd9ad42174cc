"""The connection manager through bleak's real BlueZ backend, against the emulated BlueZ."""

import asyncio
import gc
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from edge.config import BleSettings
from edge.gatt import HeartRateMeasurement
from edge.link.ble.central import BleCentral, ProvisionedDevice
from edge.link.ble.connection import State
from edge.link.ble.failures import Failure
from edge.link.notification import Notification
from edge.profiles import DeviceProfile, default_profiles_dir, load_profile
from edge.sim.bluez import BluezEmulator, Characteristic, Peripheral, Service, errors
from edge.typed_toml import build

HRM = HeartRateMeasurement.UUID
GENERIC_HEART_RATE = load_profile(default_profiles_dir() / "generic_heart_rate.toml")
FAST = BleSettings(connect_timeout_s=10, backoff_cap_s=1.0, reconnect_delay_s=0.05,
                   flap_threshold_s=0, stall_min_s=1.0, scanner_stall_s=1.0,
                   escalation_interval_s=0.5)


def strap(index: int) -> Peripheral:
    return Peripheral(
        f"A0:9E:1A:00:00:{index:02X}", name=f"HRM {index}", service_uuids=["180d"],
        services=[
            Service("180d", [Characteristic("2a37", ["notify"]),
                             Characteristic("2a38", ["read"], b"\x01")]),
            Service("180f", [Characteristic("2a19", ["read", "notify"], b"\x50")]),
        ],
    )


def provisioned(peripherals: Sequence[Peripheral],
                profile: DeviceProfile = GENERIC_HEART_RATE) -> list[ProvisionedDevice]:
    return [ProvisionedDevice(f"strap-{i:02d}", p.address, profile)
            for i, p in enumerate(peripherals, start=1)]


def beat(bpm: int = 70) -> bytes:
    return HeartRateMeasurement(bpm, True, None, (880,)).to_bytes()


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


Scenario = Callable[[BluezEmulator, BleCentral, list[Notification]], Awaitable[None]]


def run_central(bus: str, peripherals: Sequence[Peripheral], scenario: Scenario,
                devices: Sequence[ProvisionedDevice] | None = None,
                settings: BleSettings = FAST, timeout_s: float = 60.0) -> None:
    async def main() -> None:
        async with BluezEmulator(bus) as bluez:
            for peripheral in peripherals:
                bluez.add_peripheral(peripheral)
            central = BleCentral(settings, devices or provisioned(peripherals))
            received: list[Notification] = []
            task = asyncio.create_task(central.run(received.append))
            try:
                await scenario(bluez, central, received)
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), timeout_s))


async def streaming(bluez: BluezEmulator, central: BleCentral, *addresses: str) -> None:
    await wait_until(lambda: all(
        bluez.is_notifying(a, "2a37") and central.connections[a].state is State.STREAMING
        for a in addresses))


def heart_rates_from(received: list[Notification], device_id: str) -> list[bytes]:
    return [n.payload for n in received if n.device_id == device_id and n.characteristic == HRM]


def test_five_devices_stream_at_once(system_bus: str) -> None:
    straps = [strap(i) for i in range(1, 6)]

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, *(s.address for s in straps))
        assert bluez.active_connections() == 5
        for second in range(10):
            for index, peripheral in enumerate(straps, start=1):
                bluez.notify(peripheral.address, "2a37", beat(60 + index + second))
        await wait_until(lambda: all(len(heart_rates_from(received, f"strap-{i:02d}")) == 10
                                     for i in range(1, 6)))
        assert heart_rates_from(received, "strap-03") == [beat(63 + s) for s in range(10)]
        # What the profile reads at connect goes down the same path: battery level, location.
        battery = [n for n in received if n.characteristic.startswith("00002a19")]
        assert len(battery) == 5 and battery[0].payload == b"\x50"

    run_central(system_bus, straps, scenario)


def test_the_slot_budget_is_never_exceeded(system_bus: str) -> None:
    straps = [strap(i) for i in range(1, 5)]
    settings = BleSettings(**{**FAST.__dict__, "connection_slots": 3})
    most = 0

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        nonlocal most
        for _ in range(300):
            most = max(most, bluez.active_connections())
            await asyncio.sleep(0.01)
        assert bluez.active_connections() == 3
        waiting = [c for c in central.connections.values() if c.state is not State.STREAMING]
        assert len(waiting) == 1

    run_central(system_bus, straps, scenario, settings=settings)
    assert most == 3


def test_a_disconnect_mid_stream_is_followed_by_a_reconnect(system_bus: str) -> None:
    device = strap(1)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        bluez.notify(device.address, "2a37", beat(70))
        bluez.disconnect_by_peripheral(device.address)
        await wait_until(lambda: central.connections[device.address].counters.connects == 2)
        await streaming(bluez, central, device.address)
        bluez.notify(device.address, "2a37", beat(71))
        await wait_until(lambda: heart_rates_from(received, "strap-01") == [beat(70), beat(71)])

    run_central(system_bus, [device], scenario)


@pytest.mark.parametrize(
    ("error", "failure"),
    [(errors.IN_PROGRESS, Failure.IN_PROGRESS), (errors.SOFTWARE_ABORT, Failure.ABORTED),
     (errors.NOT_READY, Failure.ADAPTER_DOWN), (errors.OUT_OF_SLOTS, Failure.OUT_OF_SLOTS)],
)
def test_failing_connects_are_classified_and_retried(system_bus: str, error: Any,
                                                     failure: Failure) -> None:
    device = strap(1)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        bluez.fail_next_connects(device.address, error, count=3)
        await streaming(bluez, central, device.address)
        counters = central.connections[device.address].counters
        assert counters.failures.get(failure, 0) >= 1, counters.failures
        assert counters.connects == 1
        assert bluez.peripheral_counters(device.address).connect_failures == 3

    run_central(system_bus, [device], scenario)


def test_le_connection_aborts_are_retried_until_the_link_holds(system_bus: str) -> None:
    # bleak retries these inside one connect, waiting for BlueZ to report each link down.
    device = strap(1)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        bluez.fail_next_connects(device.address, errors.LE_ABORT_BY_LOCAL, count=3)
        await streaming(bluez, central, device.address)
        assert bluez.peripheral_counters(device.address).connect_failures == 3

    run_central(system_bus, [device], scenario)


def test_a_device_that_vanishes_is_connected_again_when_it_comes_back(system_bus: str) -> None:
    device = strap(1)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        bluez.vanish(device.address)
        await wait_until(lambda: not bluez.is_connected(device.address))
        await asyncio.sleep(1.0)
        assert central.connections[device.address].state is not State.STREAMING
        bluez.reappear(device.address)
        await streaming(bluez, central, device.address)
        bluez.notify(device.address, "2a37", beat(80))
        await wait_until(lambda: beat(80) in heart_rates_from(received, "strap-01"))

    run_central(system_bus, [device], scenario)


def test_the_adapter_powered_off_and_on_is_recovered_from(system_bus: str) -> None:
    straps = [strap(1), strap(2)]

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, *(s.address for s in straps))
        bluez.set_powered("hci0", False)
        await wait_until(lambda: bluez.active_connections() == 0)
        await asyncio.sleep(0.5)
        bluez.set_powered("hci0", True)
        await streaming(bluez, central, *(s.address for s in straps))
        assert central.counters.scanner_restarts + central.counters.adapter_power_cycles >= 1

    run_central(system_bus, straps, scenario)


def test_an_adapter_left_off_is_powered_on_by_the_escalation_ladder(system_bus: str) -> None:
    device = strap(1)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        bluez.set_powered("hci0", False)
        await streaming(bluez, central, device.address)
        assert central.counters.adapter_power_cycles >= 1

    run_central(system_bus, [device], scenario)


def test_a_notification_flood_at_ten_times_the_rate_is_taken_in_order(system_bus: str) -> None:
    device = strap(1)
    payloads = [beat(60 + i % 100) for i in range(100)]

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        await bluez.flood(device.address, "2a37", payloads, rate_hz=10 * 1.0 * 5)
        await wait_until(lambda: len(heart_rates_from(received, "strap-01")) == 100)
        assert heart_rates_from(received, "strap-01") == payloads
        assert central.connections[device.address].state is State.STREAMING

    run_central(system_bus, [device], scenario)


def test_malformed_payloads_pass_to_the_decoder_and_the_link_stays_up(system_bus: str) -> None:
    device = strap(1)
    garbage = [b"", b"\x10\x48", b"\xff" * 40]

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        for payload in [*garbage, beat(72)]:
            bluez.notify(device.address, "2a37", payload)
        await wait_until(lambda: heart_rates_from(received, "strap-01") == [*garbage, beat(72)])
        assert central.connections[device.address].counters.connects == 1

    run_central(system_bus, [device], scenario)


def test_a_silent_stream_is_restarted(system_bus: str) -> None:
    device = strap(1)
    chatty = build(DeviceProfile, {
        "id": "chatty", "name": "Strap", "description": "notifies ten times a second",
        "match": {"service_uuids": ["180d"]},
        "subscribe": [{"characteristic": "2a37", "expected_rate_hz": 10.0}],
    }, "test")

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, device.address)
        await wait_until(lambda: central.connections[device.address].counters.connects >= 2)
        assert central.connections[device.address].counters.failures[Failure.STALLED] >= 1

    run_central(system_bus, [device], scenario, devices=provisioned([device], chatty))


def test_a_device_outside_the_allowlist_is_never_connected(system_bus: str) -> None:
    mine, stranger = strap(1), strap(2)

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        await streaming(bluez, central, mine.address)
        await asyncio.sleep(1.0)
        bluez.notify(stranger.address, "2a37", beat(90))
        assert bluez.peripheral_counters(stranger.address).connect_attempts == 0
        assert central.counters.ignored_advertisements > 0
        assert {n.device_id for n in received} == {"strap-01"}

    run_central(system_bus, [mine, stranger], scenario, devices=provisioned([mine]))


def test_no_growth_in_tasks_or_memory_over_1000_reconnects(system_bus: str) -> None:
    device = strap(1)
    cycles = 1000

    async def scenario(bluez: BluezEmulator, central: BleCentral,
                       received: list[Notification]) -> None:
        connection = central.connections[device.address]

        def reconnected(target: int) -> Callable[[], bool]:
            return lambda: (connection.counters.connects == target
                            and connection.state is State.STREAMING)

        async def cycle(count: int) -> None:
            for _ in range(count):
                target = connection.counters.connects + 1
                bluez.disconnect_by_peripheral(device.address)
                await wait_until(reconnected(target))

        await streaming(bluez, central, device.address)
        await cycle(50)  # warm-up: caches, lazily created objects
        gc.collect()
        tasks_before = len(asyncio.all_tasks())
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        await cycle(cycles)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        assert len(asyncio.all_tasks()) == tasks_before
        assert grown < 512 * 1024, f"{grown} bytes more after {cycles} reconnects"
        assert bluez.active_connections() == 1

    run_central(system_bus, [device], scenario, timeout_s=600)
