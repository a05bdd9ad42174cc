"""A scenario's run: faults injected on schedule, and a ground-truth log of what happened when."""

import asyncio
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from edge.gatt import BatteryLevel, DecodeError, PmdDataFrame, decode
from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.gatt.polar_pmd import PMD_DATA_UUID
from edge.gatt.uuids import normalize_uuid
from edge.sim.clock import VirtualClock
from edge.sim.runner import ScenarioRun
from edge.sim.scenario import parse_scenario

HRM = HeartRateMeasurement.UUID


@dataclass
class RecordingRadio:
    """Where the run's values and link events go, kept in order with their run time."""

    clock: VirtualClock
    values: list[tuple[float, str, bytes]] = field(default_factory=list)
    links: list[tuple[float, str]] = field(default_factory=list)

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        self.values.append((self.clock.elapsed(), normalize_uuid(characteristic_uuid), payload))

    def drop_link(self, address: str) -> None:
        self.links.append((self.clock.elapsed(), "drop"))

    def set_in_range(self, address: str, in_range: bool) -> None:
        self.links.append((self.clock.elapsed(), "back" if in_range else "gone"))

    def of(self, uuid: str) -> list[tuple[float, bytes]]:
        return [(t, payload) for t, u, payload in self.values if u == normalize_uuid(uuid)]


def run(faults: list[dict[str, Any]], profile: str = "generic_heart_rate",
        duration_s: float = 100, battery_pct: float = 90,
        **scenario: Any) -> tuple[RecordingRadio, ScenarioRun, str]:
    parsed = parse_scenario({"name": "faults", "patient": "patient-0001",
                             "duration_s": duration_s, "speed": 200,
                             "devices": [{"id": "dev", "profile": profile,
                                          "battery_pct": battery_pct}],
                             "faults": faults} | scenario, "<test>")
    clock = VirtualClock(parsed.speed, epoch=1_800_000_000.0)
    truth = io.StringIO()
    simulation = ScenarioRun(parsed, clock, truth)
    radio = RecordingRadio(clock)
    if profile == "polar_h10":
        (wearable,) = simulation.wearables.values()
        control = wearable.peripheral.find_characteristic("fb005c81-02e7-f387-1cad-8acd2d8df0c8")
        assert control.on_write is not None
        simulation.attach(radio)
        control.on_write(bytes.fromhex("02000001820001010e00"))  # start ECG at 130 Hz
    asyncio.run(simulation.run(radio))
    return radio, simulation, truth.getvalue()


def test_dropped_notifications_are_lost_only_during_the_fault_and_about_as_often_as_said(
) -> None:
    radio, simulation, _ = run([{"kind": "drop_notifications", "device": "dev", "start_s": 20,
                                 "duration_s": 60, "share": 0.5}], duration_s=100)
    seconds = [round(t) for t, _ in radio.of(HRM)]
    inside = [s for s in seconds if 20 < s < 80]
    assert 20 <= len(inside) <= 40  # about half of 60
    assert len([s for s in seconds if s <= 20 or s >= 80]) >= 38
    assert simulation.counters.dropped == 100 - len(seconds)


def test_every_nth_value_is_malformed_during_the_fault_and_the_decoder_says_so() -> None:
    radio, simulation, _ = run([{"kind": "malformed", "device": "dev", "start_s": 30,
                                 "duration_s": 30, "every": 3}])
    bad = []
    for t, payload in radio.of(HRM):
        try:
            decode(HRM, payload)
        except DecodeError:
            bad.append(t)
    assert len(bad) == simulation.counters.malformed == 10
    assert all(30 <= t <= 61 for t in bad)


def test_clock_drift_moves_the_device_time_stamps_by_the_ppm_given() -> None:
    radio, _, _ = run([{"kind": "clock_drift", "device": "dev", "start_s": 0,
                        "duration_s": 100, "ppm": 10_000}], profile="polar_h10")
    frames = [f for _, payload in radio.of(PMD_DATA_UUID)
              if isinstance(f := decode(PMD_DATA_UUID, payload), PmdDataFrame)
              and f.measurement_type_name == "ecg"]
    stamped_s = (frames[-1].timestamp_ns - frames[0].timestamp_ns) / 1e9
    sampled_s = sum(len(f.samples) for f in frames[1:]) / 130
    # The device clock gained 1 % over the time between the two frames.
    assert stamped_s - sampled_s == pytest.approx(0.01 * sampled_s, rel=0.05)


def test_a_draining_battery_notifies_each_percent_then_the_device_switches_off() -> None:
    radio, _, _ = run([{"kind": "battery_drain", "device": "dev", "start_s": 10,
                        "duration_s": 50, "percent_per_hour": 450}], battery_pct=5)
    levels = [decode(BatteryLevel.UUID, payload) for _, payload in radio.of(BatteryLevel.UUID)]
    assert levels == [BatteryLevel(p) for p in (4, 3, 2, 1, 0)]
    switched_off = [t for t, event in radio.links if event == "gone"]
    assert len(switched_off) == 1
    assert not [t for t, _ in radio.of(HRM) if t > switched_off[0] + 0.5]


def test_a_disconnect_takes_the_device_off_the_air_and_a_storm_drops_its_link_repeatedly(
) -> None:
    radio, simulation, _ = run([
        {"kind": "disconnect", "device": "dev", "start_s": 10, "duration_s": 20},
        {"kind": "disconnect", "device": "dev", "start_s": 50, "duration_s": 30, "every_s": 5},
    ])
    events = [(round(t), event) for t, event in radio.links]
    assert events == [(10, "gone"), (30, "back"), *[(t, "drop") for t in range(50, 80, 5)]]
    assert simulation.counters.link_drops == 6


def test_the_ground_truth_log_says_what_happened_and_when() -> None:
    _, _, truth = run([{"kind": "disconnect", "device": "dev", "start_s": 10, "duration_s": 5}],
                      episodes=[{"kind": "tachycardia", "start_s": 20, "duration_s": 30},
                                {"kind": "motion", "start_s": 60, "duration_s": 10}])
    records = [json.loads(line) for line in truth.splitlines()]
    assert [(r["record"], r.get("kind"), r.get("phase")) for r in records] == [
        ("run", None, None),
        ("fault", "disconnect", "start"), ("fault", "disconnect", "end"),
        ("episode", "tachycardia", "start"), ("episode", "tachycardia", "end"),
        ("episode", "motion", "start"), ("episode", "motion", "end"),
        ("end", None, None)]
    run_record, tachycardia, motion = records[0], records[3], records[5]
    assert run_record["patient"] == "patient-0001" and run_record["epoch"] == 1_800_000_000.0
    assert tachycardia["at"] == 1_800_000_020.0 and tachycardia["at_utc"].endswith("00:20.000Z")
    assert (tachycardia["expect"], tachycardia["bound_s"]) == (["tachycardia"], 60.0)
    assert (motion["expect"], motion["bound_s"]) == ([], None)
