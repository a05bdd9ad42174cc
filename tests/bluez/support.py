"""Helpers for the emulated-BlueZ tests, which are plain functions running one asyncio loop each:
bleak and the emulator share it, as they would share a gateway's."""

import asyncio
from collections.abc import Callable, Coroutine, Sized
from dataclasses import replace
from typing import Any

from edge.sim.bluez import Characteristic, Peripheral, Service

HEART_RATE_SERVICE = "180d"
HEART_RATE_MEASUREMENT = "2a37"
BATTERY_SERVICE = "180f"
BATTERY_LEVEL = "2a19"
DEVICE_NAME = "2a00"
POLAR_COMPANY_ID = 0x006B
# Polar's measurement service: a control point answering writes with indications, and data.
PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"


def run(scenario: Coroutine[Any, Any, None], timeout_s: float = 20.0) -> None:
    """Run a test's scenario in a fresh event loop; a hang fails the test instead of CI."""
    asyncio.run(asyncio.wait_for(scenario, timeout_s))


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


async def wait_for_length(items: Sized, length: int, timeout_s: float = 5.0) -> None:
    await wait_until(lambda: len(items) == length, timeout_s)


def heart_rate_strap(address: str = "A0:9E:1A:00:00:01", **changes: Any) -> Peripheral:
    """A Polar-like strap: heart rate, battery at 80 %, a PMD control point and data stream;
    `changes` override any other field of the Peripheral."""
    strap = Peripheral(
        address, name="Polar H10 00000001", service_uuids=[HEART_RATE_SERVICE, PMD_SERVICE],
        manufacturer_data={POLAR_COMPANY_ID: b"\x33\x1e\x33\x33"},
        services=[
            Service("1800", [Characteristic(DEVICE_NAME, ["read"], b"Polar H10 00000001")]),
            Service(HEART_RATE_SERVICE, [Characteristic(HEART_RATE_MEASUREMENT, ["notify"])]),
            Service(BATTERY_SERVICE,
                    [Characteristic(BATTERY_LEVEL, ["read", "notify"], b"\x50")]),
            Service(PMD_SERVICE, [
                Characteristic(PMD_CONTROL_POINT, ["read", "write", "indicate"]),
                Characteristic(PMD_DATA, ["notify"]),
            ]),
        ],
    )
    return replace(strap, **changes)


def heart_rate(bpm: int) -> bytes:
    """A Heart Rate Measurement: flags 0 (8-bit value, no contact, no RR)."""
    return bytes([0, bpm])
