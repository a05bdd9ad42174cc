"""Scenario files: the devices of one simulated patient and a timeline of episodes and faults.

Validated like the gateway's config: every problem is reported at once, each as
`file: key.path: reason`.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.config import DeviceSettings, pseudonym
from edge.records.wfdb import RecordError, read_record
from edge.sim.physiology import DEFAULT_LEVELS, Baseline, Episode, EpisodeKind
from edge.sim.wearables import WEARABLES, DeviceSpec
from edge.typed_toml import ConfigError, build, in_range, non_empty, read_toml, setting

FaultKind = Literal["disconnect", "battery_drain", "clock_drift", "drop_notifications",
                    "malformed"]

# The events a care team should receive for each kind of episode; kinds not listed must raise
# none. Desaturation deep enough also counts as hypoxaemia.
EXPECTED_EVENTS: dict[EpisodeKind, tuple[str, ...]] = {
    "af": ("atrial_fibrillation",),
    "tachycardia": ("tachycardia",),
    "bradycardia": ("bradycardia",),
    "desaturation": ("desaturation_3pct", "desaturation_4pct", "hypoxaemia"),
    "fever": ("fever",),
    "hypotension": ("hypotension",),
    "hypertension": ("hypertension",),
}
# How long after its start an episode's event may take to arrive, by default.
DEFAULT_BOUNDS_S: dict[EpisodeKind, float] = {
    "af": 180.0, "tachycardia": 60.0, "bradycardia": 60.0, "desaturation": 60.0,
    "fever": 480.0, "hypotension": 900.0, "hypertension": 900.0,
}


@dataclass(frozen=True)
class EpisodeSpec:
    kind: EpisodeKind = setting(doc="What happens: af, tachycardia, bradycardia, pvc, "
                                "desaturation, fever, hypotension, hypertension, motion, noise, "
                                "off_body.")
    start_s: float = setting(doc="Seconds after the start of the run.", check=in_range(0, 1e8))
    duration_s: float = setting(doc="How long it lasts, s.", check=in_range(1, 1e8))
    level: float | None = setting(
        None, doc="How strong: AF or heart rate in beats/min, PVCs per minute, SpO2 nadir in %, "
        "peak temperature in °C, systolic pressure in mmHg, artefact amplitude in mV. Default "
        "per kind: " + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LEVELS.items()) + ".")
    ramp_s: float = setting(5.0, doc="Seconds to move into and out of the episode.",
                            check=in_range(0.1, 3600))
    bound_s: float | None = setting(
        None, doc="Longest acceptable delay from the start to the event at the cloud; default "
        "per kind: " + ", ".join(f"{k} {v:g} s" for k, v in DEFAULT_BOUNDS_S.items()) + ".",
        check=in_range(1, 1e6))

    def episode(self) -> Episode:
        level = DEFAULT_LEVELS[self.kind] if self.level is None else self.level
        return Episode(self.kind, self.start_s, self.duration_s, level, self.ramp_s)

    @property
    def bound(self) -> float | None:
        return DEFAULT_BOUNDS_S.get(self.kind) if self.bound_s is None else self.bound_s


@dataclass(frozen=True)
class FaultSpec:
    kind: FaultKind = setting(doc="disconnect (off the air for the duration, or, with "
                              "`every_s`, a storm of link drops), battery_drain, clock_drift, "
                              "drop_notifications, malformed.")
    device: str = setting(doc="Id of the device it happens to.", check=non_empty)
    start_s: float = setting(doc="Seconds after the start of the run.", check=in_range(0, 1e8))
    duration_s: float = setting(doc="How long it lasts, s.", check=in_range(0.1, 1e8))
    every_s: float = setting(0.0, doc="disconnect: drop the link every this many seconds "
                             "during the fault (0: once, and stay off the air).",
                             check=in_range(0, 86400))
    share: float = setting(0.2, doc="drop_notifications: the share of values lost.",
                           check=in_range(0, 1))
    every: int = setting(5, doc="malformed: every how many values one is truncated.",
                         check=in_range(1, 1_000_000))
    percent_per_hour: float = setting(50.0, doc="battery_drain: charge lost per hour; at 0 % "
                                      "the device switches off.", check=in_range(0, 1e6))
    ppm: float = setting(200.0, doc="clock_drift: how fast the device clock runs ahead, in "
                         "parts per million.", check=in_range(-1e5, 1e5))

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Scenario:
    name: str = setting(doc="What the scenario shows.", check=non_empty)
    patient: str = setting(doc="Pseudonym of the simulated patient.", check=pseudonym)
    duration_s: float = setting(doc="Length of the run, s.", check=in_range(1, 1e8))
    devices: list[DeviceSpec] = setting(doc="The virtual wearables.")
    seed: int = setting(0, doc="Seed of every random variation: the same seed, the same run.")
    speed: float = setting(1.0, doc="How many times faster than real time the run goes. Only "
                           "with the gateway in the same process (tests) may it be above 1.",
                           check=in_range(0.01, 1000))
    start_hour: float = setting(9.0, doc="Local time of day at the start (circadian rhythm).",
                                check=in_range(0, 24))
    quiet_margin_s: float = setting(
        120.0, doc="After an episode ends, how long its own events (ends, late starts) are "
        "still expected rather than false alarms, s.", check=in_range(0, 86400))
    physiology: Baseline = setting(Baseline(), doc="The patient at rest.")
    episodes: list[EpisodeSpec] = setting([], doc="Episodes on the timeline.")
    faults: list[FaultSpec] = setting([], doc="Device faults on the timeline.")


def load_scenario(path: Path) -> Scenario:
    """A validated scenario; device addresses filled in, replay paths made absolute. Raises
    ConfigError naming the file, the key and the reason of every problem."""
    return parse_scenario(read_toml(path), str(path), path.parent)


def parse_scenario(table: dict[str, Any], source: str, folder: Path = Path()) -> Scenario:
    scenario = build(Scenario, table, source)
    devices = [_completed(device, index, folder)
               for index, device in enumerate(scenario.devices, start=1)]
    scenario = dataclasses.replace(scenario, devices=devices)
    errors = _cross_checks(scenario)
    if errors:
        raise ConfigError(source, errors)
    return scenario


def _completed(device: DeviceSpec, index: int, folder: Path) -> DeviceSpec:
    address = device.address or f"C0:DE:00:00:00:{index:02X}"
    replay = str((folder / device.replay).resolve()) if device.replay else ""
    return dataclasses.replace(device, address=address.upper(), replay=replay)


def _cross_checks(scenario: Scenario) -> list[str]:
    errors: list[str] = []
    if not scenario.devices:
        errors.append("devices: at least one device is needed")
    ids = [d.id for d in scenario.devices]
    addresses = [d.address for d in scenario.devices]
    for index, device in enumerate(scenario.devices):
        key = f"devices[{index}]"
        if device.profile not in WEARABLES:
            errors.append(f"{key}.profile: no virtual wearable for {device.profile!r} (there "
                          f"are: {', '.join(sorted(WEARABLES))})")
        if ids.index(device.id) != index:
            errors.append(f"{key}.id: {device.id!r} is used by an earlier device")
        if addresses.index(device.address) != index:
            errors.append(f"{key}.address: {device.address} is used by an earlier device")
        errors += _replay_errors(key, device)
    for index, episode in enumerate(scenario.episodes):
        if episode.start_s + episode.duration_s > scenario.duration_s:
            errors.append(f"episodes[{index}]: ends at {episode.start_s + episode.duration_s:g} "
                          f"s, after the scenario's {scenario.duration_s:g} s")
    for index, fault in enumerate(scenario.faults):
        if fault.device not in ids:
            errors.append(f"faults[{index}].device: no device {fault.device!r} in this scenario")
        if fault.end_s > scenario.duration_s:
            errors.append(f"faults[{index}]: ends at {fault.end_s:g} s, after the scenario's "
                          f"{scenario.duration_s:g} s")
    return errors


def _replay_errors(key: str, device: DeviceSpec) -> list[str]:
    if not device.replay:
        return []
    if device.profile != "polar_h10":
        return [f"{key}.replay: only an ECG device (polar_h10) can replay a recording"]
    try:
        read_record(Path(device.replay))
    except (RecordError, OSError) as error:
        return [f"{key}.replay: {error}"]
    return []


FOREVER_S = 1e8  # a simulated device in the gateway's config runs for years


def device_scenario(device: DeviceSettings) -> Scenario:
    """The scenario of one simulated device of the gateway's config (`link = "simulated"`):
    its patient at `resting_bpm`, its heart-rate episodes, malformed values every N."""
    simulation = device.simulation
    episodes = [EpisodeSpec("tachycardia" if e.bpm > simulation.resting_bpm else "bradycardia",
                            e.start_s, e.duration_s, e.bpm, e.ramp_s)
                for e in simulation.episodes]
    faults = [FaultSpec("malformed", device.id, 0.0, FOREVER_S, every=simulation.malformed_every)
              ] if simulation.malformed_every else []
    return Scenario(
        name=f"simulated {device.id}", patient=device.patient, duration_s=FOREVER_S,
        devices=[_completed(DeviceSpec(device.id, simulation.profile), 1, Path())],
        seed=simulation.seed, physiology=Baseline(resting_bpm=simulation.resting_bpm),
        episodes=episodes, faults=faults)
