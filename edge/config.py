"""The gateway's configuration: one TOML file, validated against typed dataclasses.

Every field carries its documentation and its check in its metadata, so that validation,
`docs/CONFIG.md` and the example file cannot drift apart. Unknown keys are errors.
"""

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge.typed_toml import (
    ConfigError,
    build,
    in_range,
    matches,
    non_empty,
    read_toml,
    setting,
)

_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BLUETOOTH_ADDRESS = re.compile(r"^(?:[0-9A-Fa-f]{2}[:_-]?){5}[0-9A-Fa-f]{2}$")


def pseudonym(value: Any) -> str | None:
    if _BLUETOOTH_ADDRESS.match(value):
        return f"must be a pseudonym, not a Bluetooth address, got {value!r}"
    if not _PSEUDONYM.match(value):
        return ("must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit, "
                f"got {value!r}")
    return None


@dataclass(frozen=True)
class GatewaySettings:
    id: str = setting(doc="Pseudonymous gateway id, used in every MQTT topic.", check=pseudonym)
    data_dir: str = setting(
        "/var/lib/edge",
        doc="Folder for the outbox database; created with mode 0700. Relative paths are "
        "relative to the config file.",
        check=non_empty,
    )


@dataclass(frozen=True)
class UplinkSettings:
    host: str = setting("127.0.0.1", doc="MQTT broker host name or address.", check=non_empty)
    port: int = setting(1883, doc="MQTT broker TCP port.", check=in_range(1, 65535))
    keepalive_s: int = setting(30, doc="MQTT keep-alive interval in seconds.",
                               check=in_range(5, 3600))
    max_in_flight: int = setting(20, doc="QoS 1 messages awaiting PUBACK at once.",
                                 check=in_range(1, 1000))
    reconnect_max_s: int = setting(60, doc="Longest wait between reconnect attempts, in seconds.",
                                   check=in_range(1, 3600))


@dataclass(frozen=True)
class SummarySettings:
    period_s: int = setting(60, doc="Length of each summary period, in seconds.",
                            check=in_range(1, 86400))


@dataclass(frozen=True)
class HeartRateLimitSettings:
    high_bpm: float = setting(120.0, doc="Heart rate above this raises a high heart-rate event.",
                              check=in_range(30, 300))
    low_bpm: float = setting(40.0, doc="Heart rate below this raises a low heart-rate event.",
                             check=in_range(20, 200))
    hysteresis_bpm: float = setting(
        5.0, doc="How far back inside a limit heart rate must come before the event ends.",
        check=in_range(0, 50))
    min_duration_s: float = setting(
        10.0, doc="How long a crossing, or a recovery, must last before it counts.",
        check=in_range(0, 3600))


@dataclass(frozen=True)
class DetectSettings:
    heart_rate: HeartRateLimitSettings = setting(
        HeartRateLimitSettings(), doc="Heart-rate limits, set by the clinician.")


@dataclass(frozen=True)
class EpisodeSettings:
    start_s: float = setting(doc="Seconds after start when the episode begins.",
                             check=in_range(0, 1e9))
    duration_s: float = setting(doc="How long the episode lasts, in seconds.",
                                check=in_range(0, 1e9))
    bpm: float = setting(doc="Heart rate during the episode.", check=in_range(20, 250))
    ramp_s: float = setting(5.0, doc="Seconds to move into and out of the episode.",
                            check=in_range(0.1, 3600))


@dataclass(frozen=True)
class SimulationSettings:
    resting_bpm: float = setting(68.0, doc="Resting heart rate of the simulated patient.",
                                 check=in_range(20, 250))
    episodes: list[EpisodeSettings] = setting([], doc="Scripted heart-rate episodes.")
    malformed_every: int = setting(
        0, doc="Send a malformed packet every N packets (0: never), to exercise error handling.",
        check=in_range(0, 1_000_000))
    seed: int = setting(0, doc="Seed of the simulated physiology's random variation.")


@dataclass(frozen=True)
class BleSettings:
    adapter: str = setting("hci0", doc="The Bluetooth adapter to use.",
                           check=matches(r"hci[0-9]{1,2}", "an adapter name like hci0"))
    connection_slots: int = setting(
        5, doc="Devices connected at once on the adapter (5 suits a Raspberry Pi's built-in "
        "controller).", check=in_range(1, 20))
    connect_timeout_s: float = setting(30.0, doc="Longest a connection attempt may take.",
                                       check=in_range(1, 600))
    backoff_cap_s: float = setting(300.0, doc="Longest wait between attempts on one device.",
                                   check=in_range(1, 86400))
    reconnect_delay_s: float = setting(
        0.5, doc="Wait after a normal disconnect before connecting again.",
        check=in_range(0, 3600))
    flap_threshold_s: float = setting(
        30.0, doc="A connection that ends sooner than this counts as a failure, so that a "
        "flapping device backs off.", check=in_range(0, 3600))
    stall_min_s: float = setting(
        15.0, doc="A stream silent for this long (or ten expected intervals, if longer) is "
        "restarted.", check=in_range(1, 86400))
    scanner_stall_s: float = setting(
        60.0, doc="Restart discovery when devices wait and nothing has advertised for this "
        "long.", check=in_range(1, 86400))
    escalation_interval_s: float = setting(
        300.0, doc="Least time between two adapter recovery steps (restart discovery, then "
        "power-cycle the adapter).", check=in_range(0, 86400))
    profiles_dir: str = setting(
        "", doc="Folder of device profiles (empty: the ones that ship with the gateway).")


@dataclass(frozen=True)
class DeviceSettings:
    id: str = setting(doc="Pseudonymous device id, used in topics and payloads.", check=pseudonym)
    patient: str = setting(doc="Pseudonym of the patient wearing the device.", check=pseudonym)
    link: Literal["simulated", "ble"] = setting(
        "simulated", doc="How the device is reached: `ble`, or `simulated` for tests and demos.")
    address: str = setting(
        "", doc="Bluetooth address, for `link = \"ble\"`: only provisioned addresses are "
        "ever connected. Never leaves the gateway.",
        check=matches(r"(|([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})", "an address like "
                      "A0:9E:1A:12:34:56"))
    profile: str = setting(
        "", doc="Device profile id (a file in the profiles folder), for `link = \"ble\"`.")
    simulation: SimulationSettings = setting(
        SimulationSettings(), doc="The simulated wearable's physiology.")


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings = setting(doc="This gateway.")
    uplink: UplinkSettings = setting(UplinkSettings(), doc="The MQTT broker of the care team.")
    summary: SummarySettings = setting(SummarySettings(), doc="Periodic summaries.")
    detect: DetectSettings = setting(DetectSettings(), doc="Event detection.")
    ble: BleSettings = setting(BleSettings(), doc="Bluetooth LE.")
    devices: list[DeviceSettings] = setting([], doc="Wearables this gateway serves.")
    # Where the file was read from; relative paths in it are resolved against its folder.
    base_dir: Path = field(default=Path("."), metadata={"internal": True})
    source: str = field(default="<config>", metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return self.base_dir / self.gateway.data_dir

    @property
    def profiles_path(self) -> Path | None:
        """The configured profiles folder, or None for the ones that ship."""
        return self.base_dir / self.ble.profiles_dir if self.ble.profiles_dir else None


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem found."""
    config = parse_config(read_toml(path), str(path))
    return dataclasses.replace(config, base_dir=path.resolve().parent, source=str(path))


def parse_config(table: Mapping[str, Any], source: str = "<config>") -> Config:
    config = build(Config, table, source)
    errors = _cross_checks(config)
    if errors:
        raise ConfigError(source, errors)
    return config


def _cross_checks(config: Config) -> list[str]:
    errors = []
    limits = config.detect.heart_rate
    if limits.low_bpm + limits.hysteresis_bpm >= limits.high_bpm - limits.hysteresis_bpm:
        errors.append("detect.heart_rate: low_bpm and high_bpm, each with hysteresis_bpm, "
                      f"overlap ({limits.low_bpm} + {limits.hysteresis_bpm} >= "
                      f"{limits.high_bpm} - {limits.hysteresis_bpm})")
    seen: set[str] = set()
    addresses: set[str] = set()
    for index, device in enumerate(config.devices):
        if device.id in seen:
            errors.append(f"devices[{index}].id: {device.id!r} is used by an earlier device")
        seen.add(device.id)
        if device.link == "ble":
            errors += _ble_device_errors(index, device, addresses)
    return errors


def _ble_device_errors(index: int, device: DeviceSettings, addresses: set[str]) -> list[str]:
    errors = [f"devices[{index}].{key}: required when link = \"ble\""
              for key in ("address", "profile") if not getattr(device, key)]
    if device.address.upper() in addresses:
        errors.append(f"devices[{index}].address: used by an earlier device")
    addresses.add(device.address.upper())
    return errors
