"""Each virtual wearable, served over bumble's in-process LocalLink, met by a bumble central that
does what the gateway does with the device's profile (read, subscribe, set up) and decodes all it
receives with the gateway's decoders."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import pytest
from bumble.device import Device, Peer
from bumble.link import LocalLink

from edge.gatt import PmdControlPointResponse, PmdDataFrame, decode
from edge.gatt.polar_pmd import PMD_CONTROL_POINT_UUID, PMD_DATA_UUID
from edge.gatt.uuids import normalize_uuid
from edge.profiles import default_profiles_dir, load_profiles
from edge.sim.clock import VirtualClock
from edge.sim.radio.bumble_radio import BumbleRadio, on_local_link, on_transports
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import parse_scenario
from edge.sim.wearables import WEARABLES
from tests.bluez.support import run
from tests.sim_bumble.test_bumble_peripheral import (
    central_on,
    characteristic,
    controller_at_tcp_port,
    find,
)

PROFILES = load_profiles(default_profiles_dir())
# What each device must have sent in a minute (episodic devices measure every 5 s here).
MAIN_VALUES = {
    "generic_heart_rate": {"2a37"},
    "polar_h10": {"2a37", "fb005c81-02e7-f387-1cad-8acd2d8df0c8",
                  "fb005c82-02e7-f387-1cad-8acd2d8df0c8"},
    "generic_pulse_oximeter": {"2a5f", "2a5e"},
    "generic_thermometer": {"2a1c"},
    "generic_blood_pressure": {"2a35"},
    "generic_glucose_meter": {"2a18"},
    "generic_cgm": {"2aa7"},
}


class RecordingRadio:
    """Passes everything to bumble and keeps what the devices sent."""

    def __init__(self, radio: BumbleRadio) -> None:
        self._radio = radio
        self.sent: dict[str, list[bytes]] = defaultdict(list)

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        self.sent[normalize_uuid(characteristic_uuid)].append(payload)
        self._radio.notify(address, characteristic_uuid, payload)

    def drop_link(self, address: str) -> None:
        self._radio.drop_link(address)

    def set_in_range(self, address: str, in_range: bool) -> None:
        self._radio.set_in_range(address, in_range)


async def connect(central: Device, name: str) -> Peer:
    advertisement = await find(central, name)
    peer = Peer(await asyncio.wait_for(central.connect(advertisement.address), 5))
    await asyncio.wait_for(peer.request_mtu(247), 5)
    await asyncio.wait_for(peer.discover_services(), 5)
    for service in peer.services:
        await asyncio.wait_for(peer.discover_characteristics(service=service), 5)
    return peer


def one_device(profile: str) -> ScenarioRun:
    scenario = parse_scenario({
        "name": profile, "patient": "patient-0001", "duration_s": 60, "speed": 20,
        "devices": [{"id": "dev-01", "profile": profile, "interval_s": 5}],
        "episodes": [{"kind": "af", "start_s": 20, "duration_s": 30}],
    }, "<test>")
    return ScenarioRun(scenario, VirtualClock(scenario.speed))


async def act_as_the_gateway(peer: Peer, profile: str) -> tuple[dict[str, list[bytes]],
                                                                Sequence[bytes]]:
    """Read, subscribe and set up as the profile says; return the values subscribed to, by
    UUID, and what the reads returned."""
    spec = PROFILES[profile]
    reads = [await asyncio.wait_for(peer.read_value(characteristic(peer, r.characteristic)), 5)
             for r in spec.read]
    for read, value in zip(spec.read, reads, strict=True):
        decode(read.characteristic, value)
    received: dict[str, list[bytes]] = defaultdict(list)
    for subscription in spec.subscribe:
        uuid = normalize_uuid(subscription.characteristic)
        await asyncio.wait_for(peer.subscribe(
            characteristic(peer, uuid), received[uuid].append,
            prefer_notify=subscription.mode == "notify"), 5)
    for write in spec.setup:
        await asyncio.wait_for(peer.write_value(characteristic(peer, write.characteristic),
                                                write.payload, with_response=True), 5)
    return received, reads


@pytest.mark.parametrize("profile", sorted(WEARABLES))
def test_a_bumble_central_decodes_everything_each_virtual_wearable_sends(profile: str) -> None:
    scenario = one_device(profile)
    (wearable,) = scenario.wearables.values()
    assert wearable.profile == profile

    async def session() -> None:
        link = LocalLink()
        async with central_on(link) as central, on_local_link([wearable], link) as bumble:
            radio = RecordingRadio(bumble)
            scenario.attach(radio)
            peer = await connect(central, wearable.peripheral.name or "")
            received, _ = await act_as_the_gateway(peer, profile)
            await scenario.run(radio)
            await asyncio.sleep(0.5)  # the last values in flight
        subscribed = {normalize_uuid(s.characteristic) for s in PROFILES[profile].subscribe}
        expected = {normalize_uuid(u) for u in MAIN_VALUES[profile]}
        assert expected <= {uuid for uuid, values in received.items() if values}
        for uuid in subscribed:
            assert received[uuid] == radio.sent.get(uuid, []), uuid
            for value in received[uuid]:
                decode(uuid, value)

    run(session(), timeout_s=30)


def test_a_polar_h10_streams_ecg_and_accelerometer_frames_once_started() -> None:
    scenario = one_device("polar_h10")
    (wearable,) = scenario.wearables.values()

    async def session() -> None:
        link = LocalLink()
        async with central_on(link) as central, on_local_link([wearable], link) as bumble:
            scenario.attach(bumble)
            peer = await connect(central, wearable.peripheral.name or "")
            received, _ = await act_as_the_gateway(peer, "polar_h10")
            await scenario.run(bumble)
            await asyncio.sleep(0.5)
        data = [decode(PMD_DATA_UUID, value) for value in received[PMD_DATA_UUID]]
        names = [frame.measurement_type_name for frame in data
                 if isinstance(frame, PmdDataFrame)]
        assert len(names) == len(data)
        # Up to a minute (less the connection time) at 130 Hz in frames of 73, at 25 Hz in
        # frames of 14.
        assert 85 <= names.count("ecg") <= 108
        assert 85 <= names.count("acc") <= 108
        answers = [decode(PMD_CONTROL_POINT_UUID, value)
                   for value in received[PMD_CONTROL_POINT_UUID]]
        assert [(a.measurement_type_name, a.status_name) for a in answers
                if isinstance(a, PmdControlPointResponse)] == [("ecg", "success"),
                                                               ("acc", "success")]

    run(session(), timeout_s=30)


def test_two_wearables_on_two_controllers_reached_over_tcp_transports() -> None:
    """What a rig does with `--radio bumble --transport ...`, one controller per device; here
    the controllers are virtual ones behind bumble's TCP transport instead of USB dongles."""
    scenario = parse_scenario({
        "name": "rig", "patient": "patient-0001", "duration_s": 20, "speed": 10,
        "devices": [{"id": "strap-01", "profile": "generic_heart_rate"},
                    {"id": "oxi-01", "profile": "generic_pulse_oximeter"}],
    }, "<test>")
    run_ = ScenarioRun(scenario, VirtualClock(scenario.speed))
    wearables = list(run_.wearables.values())

    async def session() -> None:
        link = LocalLink()
        async with (controller_at_tcp_port(link) as first, controller_at_tcp_port(link) as second,
                    central_on(link) as central,
                    on_transports(wearables, [f"tcp-client:127.0.0.1:{first}",
                                              f"tcp-client:127.0.0.1:{second}"]) as radio):
            peers = [await connect(central, w.peripheral.name or "") for w in wearables]
            received = [await act_as_the_gateway(peer, w.profile)
                        for peer, w in zip(peers, wearables, strict=True)]
            await run_.run(radio)
            await asyncio.sleep(0.5)
        heart_rates, _ = received[0]
        oximetry, _ = received[1]
        assert [decode("2a37", v) for v in heart_rates[normalize_uuid("2a37")]]
        assert [decode("2a5f", v) for v in oximetry[normalize_uuid("2a5f")]]

    run(session(), timeout_s=30)


def test_fewer_transports_than_devices_is_refused_before_anything_starts() -> None:
    scenario = one_device("generic_cgm")

    async def session() -> None:
        with pytest.raises(ValueError, match="1 devices need as many transports, got 0: none"):
            async with on_transports(list(scenario.wearables.values()), []):
                pass

    run(session())
