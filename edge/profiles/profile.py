import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edge.config import Config
from edge.gatt import DECODERS
from edge.gatt.uuids import normalize_uuid
from edge.shipped import shipped_dir
from edge.typed_toml import ConfigError, build, in_range, matches, non_empty, read_toml, setting

ANY_MANUFACTURER = -1


def bluetooth_uuid(value: Any) -> str | None:
    try:
        normalize_uuid(value)
    except ValueError:
        return f"must be a 16-, 32- or 128-bit Bluetooth UUID, got {value!r}"
    return None


def decodable_uuid(value: Any) -> str | None:
    problem = bluetooth_uuid(value)
    if problem is None and normalize_uuid(value) not in DECODERS:
        problem = f"the gateway has no decoder for characteristic {value!r}"
    return problem


def uuid_list(values: Any) -> str | None:
    problems = [problem for problem in map(bluetooth_uuid, values) if problem]
    return problems[0] if problems else None


def regular_expression(value: Any) -> str | None:
    try:
        re.compile(value)
    except re.error as error:
        return f"must be a regular expression: {error}"
    return None


def hex_bytes(value: Any) -> str | None:
    try:
        bytes.fromhex(value)
    except ValueError:
        return f"must be bytes in hexadecimal, e.g. \"02 00 01\", got {value!r}"
    return None if value.strip() else "must not be empty"


@dataclass(frozen=True)
class MatchRule:
    name_pattern: str = setting("", doc="Regular expression the advertised name must match "
                                "from its start (empty: any name).", check=regular_expression)
    service_uuids: list[str] = setting(
        [], doc="Service UUIDs, of which the device must advertise at least one (empty: any).",
        check=uuid_list)
    manufacturer_id: int = setting(
        ANY_MANUFACTURER, doc="Bluetooth SIG company id the manufacturer data must carry "
        "(-1: any).", check=in_range(ANY_MANUFACTURER, 0xFFFF))


@dataclass(frozen=True)
class ReadSpec:
    characteristic: str = setting(doc="UUID of a characteristic read once after each connect.",
                                  check=decodable_uuid)
    required: bool = setting(False, doc="Fail the connection when this read fails.")


@dataclass(frozen=True)
class SubscribeSpec:
    characteristic: str = setting(doc="UUID of a characteristic to subscribe to.",
                                  check=decodable_uuid)
    mode: Literal["notify", "indicate"] = setting("notify", doc="How the device sends values.")
    expected_rate_hz: float = setting(
        0.0, doc="Values per second in steady state; 0 for values sent only now and then "
        "(a cuff, a thermometer). A stream silent for much longer than this is restarted.",
        check=in_range(0, 10_000))


@dataclass(frozen=True)
class SetupWrite:
    characteristic: str = setting(doc="UUID of the characteristic written after subscribing.",
                                  check=bluetooth_uuid)
    value: str = setting(doc="Bytes to write, in hexadecimal.", check=hex_bytes)
    purpose: str = setting(doc="What the write does, for logs and diagnostics.", check=non_empty)
    with_response: bool = setting(True, doc="Write with response (a Write Request).")

    @property
    def payload(self) -> bytes:
        return bytes.fromhex(self.value)


@dataclass(frozen=True)
class DeviceProfile:
    id: str = setting(doc="The profile's id; the file must be named after it.",
                      check=matches(r"[a-z0-9_]{1,64}", "lower-case letters, digits and '_'"))
    name: str = setting(doc="The device model, for technicians.", check=non_empty)
    description: str = setting(doc="What the device measures.", check=non_empty)
    match: MatchRule = setting(doc="How to recognise the device from its advertisements.")
    read: list[ReadSpec] = setting([], doc="Characteristics read once after each connect.")
    subscribe: list[SubscribeSpec] = setting([], doc="Characteristics streamed from the device.")
    setup: list[SetupWrite] = setting([], doc="Vendor stream set-up, written after subscribing "
                                      "(after every reconnect too).")
    patient_name: str = setting("device", doc="What the patient calls it: \"chest strap\".",
                                check=non_empty)
    advice_when_silent: str = setting(
        "check that it is switched on and near the gateway", doc="What the patient should do "
        "when it has sent nothing for a while, as the end of a sentence.", check=non_empty)

    def specificity(self) -> int:
        rule = self.match
        return (bool(rule.name_pattern) + bool(rule.service_uuids)
                + (rule.manufacturer_id != ANY_MANUFACTURER))

    def matches(self, advertisement: "Advertisement") -> bool:
        rule = self.match
        if rule.name_pattern and not re.match(rule.name_pattern, advertisement.name or ""):
            return False
        wanted = {normalize_uuid(uuid) for uuid in rule.service_uuids}
        if wanted and not wanted & set(advertisement.service_uuids):
            return False
        return (rule.manufacturer_id == ANY_MANUFACTURER
                or rule.manufacturer_id in advertisement.manufacturer_ids)


@dataclass(frozen=True, slots=True)
class Advertisement:
    """What a device said about itself in one advertisement; UUIDs in their 128-bit form."""

    address: str
    name: str | None
    service_uuids: tuple[str, ...]
    manufacturer_ids: tuple[int, ...]
    rssi: int | None


def best_match(profiles: Iterable[DeviceProfile], advertisement: Advertisement) -> (
        DeviceProfile | None):
    """The most specific profile that matches, so that a Polar H10 is not taken for a generic
    heart-rate sensor."""
    candidates = [profile for profile in profiles if profile.matches(advertisement)]
    return max(candidates, key=DeviceProfile.specificity, default=None)


def load_profile(path: Path) -> DeviceProfile:
    profile = build(DeviceProfile, read_toml(path), str(path))
    if profile.id != path.stem:
        raise ConfigError(str(path), [f"id: must match the file name {path.stem!r}, "
                                      f"got {profile.id!r}"])
    return profile


def load_profiles(folder: Path) -> dict[str, DeviceProfile]:
    """Every profile in a folder; raises ConfigError listing the problems of every file."""
    profiles: dict[str, DeviceProfile] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            profiles[path.stem] = load_profile(path)
        except ConfigError as error:
            problems += [f"{path.name}: {line}" for line in error.errors]
    if problems:
        raise ConfigError(str(folder), problems)
    if not profiles:
        raise ConfigError(str(folder), ["no device profiles (*.toml) found"])
    return profiles


def default_profiles_dir() -> Path:
    return shipped_dir("device_profiles")


def configured_profiles(config: Config | None) -> dict[str, DeviceProfile]:
    """Every profile in the config's profiles folder, or in the shipped one (also when there
    is no config)."""
    return load_profiles((config.profiles_path if config else None) or default_profiles_dir())


def profiles_for(config: Config, available: Mapping[str, DeviceProfile] | None = None) -> (
        dict[str, DeviceProfile]):
    """The profile of each BLE device in the config, by device id, from `available` (by
    default the config's profiles); raises ConfigError naming the device whose profile does
    not exist."""
    ble_devices = [(i, d) for i, d in enumerate(config.devices) if d.link == "ble"]
    if not ble_devices:
        return {}
    profiles = configured_profiles(config) if available is None else available
    known = ", ".join(sorted(profiles))
    folder = config.profiles_path or default_profiles_dir()
    missing = [f"devices[{i}].profile: no profile {d.profile!r} in {folder} (there are: {known})"
               for i, d in ble_devices if d.profile not in profiles]
    if missing:
        raise ConfigError(config.source, missing)
    return {device.id: profiles[device.profile] for _, device in ble_devices}
