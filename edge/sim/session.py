"""`edge sim`: a scenario on one of the three radios, with or without the gateway in the same
process. The end-to-end tests run scenarios through this same code."""

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from edge.config import Config, DeviceSettings, SimulationSettings
from edge.gateway import Gateway
from edge.link.ble.central import BleCentral
from edge.metrics import Counters
from edge.sim.bluez import SYSTEM_BUS_VARIABLE, BluezEmulator, PrivateSystemBus
from edge.sim.clock import VirtualClock
from edge.sim.radio.emulated_bluez import EmulatedBluezRadio
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import Scenario

RadioKind = Literal["inprocess", "bluez", "bumble"]
SETTLE_S = 5.0  # real time the gateway gets after the run to deliver what it still holds

Announce = Callable[[str], None]


def gateway_config(base: Config, scenario: Scenario, link: Literal["simulated", "ble"]) -> Config:
    """`base` (uplink, detection, data folder) with the scenario's devices as its devices."""
    devices = [DeviceSettings(id=d.id, patient=scenario.patient, link=link,
                              address=d.address if link == "ble" else "",
                              profile=d.profile if link == "ble" else "",
                              simulation=SimulationSettings(profile=d.profile))
               for d in scenario.devices]
    return dataclasses.replace(base, devices=devices)


@dataclass(frozen=True)
class GatewayRun:
    """What a gateway in this process did during a scenario."""

    counters: Counters
    pending: int  # messages still in the outbox at the end
    central: BleCentral | None


async def run_with_gateway(scenario: Scenario, base: Config, radio: Literal["inprocess", "bluez"],
                           truth: TextIO | None = None, settle_s: float = SETTLE_S) -> GatewayRun:
    """Run the scenario into a gateway in this process."""
    clock = VirtualClock(scenario.speed)
    run = ScenarioRun(scenario, clock, truth)
    if radio == "inprocess":
        gateway = Gateway(gateway_config(base, scenario, "simulated"), clock.now, [run])
        return await _serve(gateway, clock.sleep_until(scenario.duration_s), settle_s)
    async with emulated_bluez() as emulator:
        bluez_radio = EmulatedBluezRadio(emulator, run.wearables.values())
        gateway = Gateway(gateway_config(base, scenario, "ble"), clock.now)
        return await _serve(gateway, run.run(bluez_radio), settle_s)


async def run_devices(scenario: Scenario, radio: RadioKind, transports: Sequence[str],
                      truth: TextIO | None, announce: Announce) -> ScenarioRun:
    """Serve the scenario's devices on a radio for a gateway elsewhere: the emulated BlueZ
    (announcing the D-Bus address a gateway must use) or bumble transports."""
    run = ScenarioRun(scenario, VirtualClock(scenario.speed), truth)
    if radio == "bluez":
        async with emulated_bluez() as emulator:
            announce(f"emulated BlueZ on {SYSTEM_BUS_VARIABLE}={os.environ[SYSTEM_BUS_VARIABLE]}")
            await run.run(EmulatedBluezRadio(emulator, run.wearables.values()))
        return run
    from edge.sim.radio.bumble_radio import on_transports  # bumble: the `sim` extra

    async with on_transports(list(run.wearables.values()), transports) as bumble:
        announce(f"advertising {len(run.wearables)} devices on {', '.join(transports)}")
        await run.run(bumble)
    return run


@contextmanager
def devices_in_another_process(scenario: Path) -> Iterator[dict[str, str]]:
    """`edge sim --radio bluez` serving `scenario` in a process of its own, as a test rig runs
    it; yields the environment in which another process takes its devices for its Bluetooth."""
    command = [sys.executable, "-m", "edge", "sim", "--scenario", str(scenario), "--radio",
               "bluez"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as sim:
        try:
            announced = sim.stdout.readline() if sim.stdout else ""
            variable, _, address = announced.strip().rpartition(" ")[2].partition("=")
            if variable != SYSTEM_BUS_VARIABLE:
                raise RuntimeError(f"edge sim did not announce its D-Bus: {announced!r}")
            yield {**os.environ, variable: address}
        finally:
            sim.terminate()
            sim.wait(20)


@asynccontextmanager
async def emulated_bluez() -> AsyncIterator[BluezEmulator]:
    """The emulated BlueZ on a private system bus, which bleak in this process (and any process
    given the same DBUS_SYSTEM_BUS_ADDRESS) takes for the real one."""
    saved = os.environ.get(SYSTEM_BUS_VARIABLE)
    with PrivateSystemBus() as bus:
        os.environ[SYSTEM_BUS_VARIABLE] = bus.address
        try:
            async with BluezEmulator(bus.address) as emulator:
                yield emulator
        finally:
            if saved is None:
                os.environ.pop(SYSTEM_BUS_VARIABLE, None)
            else:
                os.environ[SYSTEM_BUS_VARIABLE] = saved


async def _serve(gateway: Gateway, until: Awaitable[None], settle_s: float) -> GatewayRun:
    stop = asyncio.Event()
    running = asyncio.create_task(gateway.run(stop))
    try:
        await until
        await asyncio.sleep(settle_s)
    finally:
        stop.set()
        await running
        pending = gateway.outbox.count()
        gateway.close()
    return GatewayRun(gateway.counters, pending, gateway.central)

