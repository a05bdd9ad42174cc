"""The gateway's configuration: one TOML file, validated against typed dataclasses.

Every field carries its documentation and its check in its metadata, so that validation,
`docs/CONFIG.md` and the example file cannot drift apart. Unknown keys are errors.
"""

import dataclasses
import re
import tomllib
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

Check = Callable[[Any], str | None]
T = TypeVar("T")

_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BLUETOOTH_ADDRESS = re.compile(r"^(?:[0-9A-Fa-f]{2}[:_-]?){5}[0-9A-Fa-f]{2}$")


class ConfigError(Exception):
    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__("\n".join(f"{source}: {error}" for error in errors))
        self.source = source
        self.errors = errors


def in_range(low: float, high: float) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be {low}..{high}, got {value}"

    return check


def pseudonym(value: Any) -> str | None:
    if _BLUETOOTH_ADDRESS.match(value):
        return f"must be a pseudonym, not a Bluetooth address, got {value!r}"
    if not _PSEUDONYM.match(value):
        return ("must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit, "
                f"got {value!r}")
    return None


def non_empty(value: Any) -> str | None:
    return None if value else "must not be empty"


def setting(default: Any = dataclasses.MISSING, *, doc: str, check: Check | None = None) -> Any:
    metadata = {"doc": doc, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


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
class DeviceSettings:
    id: str = setting(doc="Pseudonymous device id, used in topics and payloads.", check=pseudonym)
    patient: str = setting(doc="Pseudonym of the patient wearing the device.", check=pseudonym)
    link: Literal["simulated"] = setting(
        "simulated", doc="How the device is reached. Only `simulated` exists so far.")
    simulation: SimulationSettings = setting(
        SimulationSettings(), doc="The simulated wearable's physiology.")


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings = setting(doc="This gateway.")
    uplink: UplinkSettings = setting(UplinkSettings(), doc="The MQTT broker of the care team.")
    summary: SummarySettings = setting(SummarySettings(), doc="Periodic summaries.")
    detect: DetectSettings = setting(DetectSettings(), doc="Event detection.")
    devices: list[DeviceSettings] = setting([], doc="Wearables this gateway serves.")
    # Where the file was read from; relative paths in it are resolved against its folder.
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return self.base_dir / self.gateway.data_dir


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem found."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(source, [f"cannot read: {error}"]) from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [f"invalid TOML: {error}"]) from None
    config = parse_config(table, source)
    return dataclasses.replace(config, base_dir=path.resolve().parent)


def parse_config(table: Mapping[str, Any], source: str = "<config>") -> Config:
    errors: list[str] = []
    config = _build(Config, table, "", errors)
    errors += _cross_checks(config) if config is not None else []
    if errors or config is None:
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
    for index, device in enumerate(config.devices):
        if device.id in seen:
            errors.append(f"devices[{index}].id: {device.id!r} is used by an earlier device")
        seen.add(device.id)
    return errors


def _build(cls: type[T], table: Any, path: str, errors: list[str]) -> T | None:
    if not isinstance(table, dict):
        errors.append(f"{path or '<top>'}: must be a table, got {_type_name(table)}")
        return None
    errors_before = len(errors)
    values: dict[str, Any] = {}
    known = set()
    hints = typing.get_type_hints(cls)
    for spec in _settings(cls):
        known.add(spec.name)
        key = f"{path}.{spec.name}" if path else spec.name
        if spec.name not in table:
            if _required(spec):
                errors.append(f"{key}: missing, required")
            continue
        value = _convert(hints[spec.name], table[spec.name], key, errors)
        check = spec.metadata.get("check")
        problem = check(value) if check is not None and value is not None else None
        if problem:
            errors.append(f"{key}: {problem}")
        values[spec.name] = value
    for unknown in sorted(set(table) - known):
        errors.append(f"{path + '.' if path else ''}{unknown}: unknown key")
    if len(errors) > errors_before:
        return None
    return cls(**values)


def _convert(hint: Any, value: Any, key: str, errors: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(typing.cast(type, hint), value, key, errors)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            errors.append(f"{key}: must be an array of tables, got {_type_name(value)}")
            return None
        return [_convert(item, entry, f"{key}[{index}]", errors)
                for index, entry in enumerate(value)]
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            errors.append(f"{key}: must be one of {', '.join(map(str, choices))}, got {value!r}")
            return None
        return value
    return _scalar(hint, value, key, errors)


def _scalar(hint: Any, value: Any, key: str, errors: list[str]) -> Any:
    accepted: tuple[type, ...] = (int, float) if hint is float else (hint,)
    if (isinstance(value, bool) and hint is not bool) or not isinstance(value, accepted):
        errors.append(f"{key}: must be {_type_name_of(hint)}, got {_type_name(value)} {value!r}")
        return None
    if hint is float:
        return float(typing.cast(float, value))
    return value


def _settings(cls: type) -> Iterator[dataclasses.Field[Any]]:
    return (spec for spec in dataclasses.fields(cls) if not spec.metadata.get("internal"))


def _required(spec: dataclasses.Field[Any]) -> bool:
    return spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING


def _type_name_of(hint: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, str(hint))


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
             dict: "table"}
    return names.get(type(value), type(value).__name__)


def describe_settings(cls: type = Config, prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(key path, default, documentation) for every setting, for the reference docs."""
    hints = typing.get_type_hints(cls)
    for spec in _settings(cls):
        key = f"{prefix}{spec.name}"
        hint = hints[spec.name]
        nested = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
        doc = spec.metadata["doc"]
        if dataclasses.is_dataclass(nested):
            suffix = "[]" if nested is not hint else ""
            yield key + suffix, "", doc
            yield from describe_settings(typing.cast(type, nested), f"{key}{suffix}.")
        else:
            default = "required" if _required(spec) else _toml_value(spec.default)
            yield key, default, doc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)

