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
class OutboxSettings:
    max_mb: float = setting(256.0, doc="Disk budget of the outbox, MB: beyond it the lowest "
                            "class and oldest messages are dropped (alerts last of all).",
                            check=in_range(0.01, 1e6))
    key_file: str = setting(
        "", doc="AES-256 key that seals the outbox's payloads, made on first start with mode "
        "0600; empty: outbox.key in gateway.data_dir. Relative paths are relative to the "
        "config file.")
    alert_days: float = setting(30.0, doc="Days an undelivered alert (an event starting) is "
                                "kept.", check=in_range(0.001, 3650))
    event_days: float = setting(30.0, doc="Days an undelivered event (an event ending) is kept.",
                                check=in_range(0.001, 3650))
    summary_days: float = setting(7.0, doc="Days an undelivered summary is kept.",
                                  check=in_range(0.001, 3650))
    diagnostic_days: float = setting(2.0, doc="Days an undelivered diagnostic is kept.",
                                     check=in_range(0.001, 3650))


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str = setting(
        "", doc="CA certificates (PEM) the broker's certificate must chain to; empty: the "
        "system's trusted CAs. Relative paths are relative to the config file.")
    cert_file: str = setting("", doc="This gateway's client certificate (PEM), with any "
                             "intermediates, for mutual TLS. Required unless plaintext.")
    key_file: str = setting("", doc="The client certificate's private key (PEM); keep it "
                            "readable by the gateway's user alone. Required unless plaintext.")


@dataclass(frozen=True)
class UplinkSettings:
    host: str = setting("127.0.0.1", doc="MQTT broker host name or address; the broker's "
                        "certificate must name it.", check=non_empty)
    port: int = setting(8883, doc="MQTT broker TCP port.", check=in_range(1, 65535))
    tls: TlsSettings = setting(TlsSettings(), doc="TLS 1.2 or newer, verifying the broker and "
                               "presenting a client certificate (mutual TLS).")
    plaintext: bool = setting(
        False, doc="Connect without TLS. Allowed only to a loopback address (a broker on this "
        "machine: tests, demos, a local bridge).")
    payload_format: Literal["edge", "fhir"] = setting(
        "edge", doc="`fhir`: heart-rate summaries and vital-sign events as FHIR R4 Observation "
        "resources on .../fhir/Observation/{device} (rhythm events, diagnostics and status stay "
        "in the gateway's own format).")
    backlog_rate_per_s: float = setting(
        500.0, doc="Messages per second at most while a backlog drains after an outage (0: no "
        "limit); alerts are never held back.", check=in_range(0, 1e6))
    max_attempts: int = setting(
        10, doc="A message the broker refuses (PUBACK reason code 0x80 or above) this many "
        "times is moved to the outbox's dead letters.", check=in_range(1, 1_000_000))
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
    high_bpm: float = setting(
        120.0, doc="Population default: heart rate above this is tachycardia, until the "
        "clinician sets a limit or one is learned.", check=in_range(30, 300))
    low_bpm: float = setting(
        40.0, doc="Population default: heart rate below this is bradycardia, until the "
        "clinician sets a limit or one is learned.", check=in_range(20, 200))
    hysteresis_bpm: float = setting(
        5.0, doc="How far back inside a limit heart rate must come before the event ends.",
        check=in_range(0, 50))
    min_duration_s: float = setting(
        10.0, doc="How long a crossing, or a recovery, must last before it counts.",
        check=in_range(0, 3600))


@dataclass(frozen=True)
class BaselineSettings:
    enabled: bool = setting(True, doc="Learn each patient's own usual values (median and MAD "
                            "per time of day) and set limits from them.")
    history_days: int = setting(14, doc="Days of history each baseline is learned from.",
                                check=in_range(1, 90))
    min_days: int = setting(3, doc="Days of data before a baseline has an opinion.",
                            check=in_range(1, 90))
    utc_offset_h: float = setting(
        0.0, doc="Local time of the patients' homes, in hours from UTC, for time-of-day "
        "buckets.", check=in_range(-14, 14))
    save_interval_s: float = setting(3600.0, doc="How often the learned baselines are saved.",
                                     check=in_range(10, 86400))


@dataclass(frozen=True)
class DesaturationLimitSettings:
    min_duration_s: float = setting(
        10.0, doc="How long SpO2 must stay 3 % (or 4 %) below its baseline to count as a "
        "desaturation.", check=in_range(1, 600))
    odi_window_s: float = setting(
        3600.0, doc="Window of the oxygen desaturation index (desaturations per hour).",
        check=in_range(600, 86400))


@dataclass(frozen=True)
class ModelSettings:
    dir: str = setting("", doc="Folder of model packages (empty: the models that ship). "
                       "Relative paths are relative to the config file.")
    af: str = setting(
        "af_rr", doc="Atrial fibrillation model from RR intervals: a package (a folder with "
        "`manifest.json`) in the models folder; empty: the rule-based detector.")
    af_ecg: str = setting(
        "af_ecg", doc="Atrial fibrillation model for devices that stream ECG, from RR intervals "
        "and ECG morphology; empty: the `af` model on the intervals between the ECG's R peaks.")
    pvc: str = setting(
        "pvc_beat", doc="Ectopic (PVC) beat model from ECG beats; empty: the rule-based "
        "classifier.")
    backend: Literal["auto", "onnx", "litert"] = setting(
        "auto", doc="Model runtime: `litert` (LiteRT, or tflite-runtime where only it exists), "
        "`onnx` (ONNX Runtime), or `auto` for LiteRT when installed, else ONNX Runtime.")
    precision: Literal["int8", "float"] = setting(
        "int8", doc="Which variant of each model to run.")


@dataclass(frozen=True)
class DetectSettings:
    heart_rate: HeartRateLimitSettings = setting(
        HeartRateLimitSettings(), doc="Heart-rate limits and how long a crossing must last.")
    desaturation: DesaturationLimitSettings = setting(
        DesaturationLimitSettings(), doc="Oxygen desaturations.")
    baselines: BaselineSettings = setting(BaselineSettings(), doc="Personal baselines.")
    models: ModelSettings = setting(
        ModelSettings(), doc="Detector models; a model that is missing, corrupt or fails its "
        "check is refused, and the rule-based detector takes its place.")


def _optional_limit(doc: str, low: float, high: float) -> Any:
    return setting(None, doc=f"{doc} Unset: learned from the patient, or the default.",
                   check=in_range(low, high))


@dataclass(frozen=True)
class ClinicianLimitSettings:
    heart_rate_high_bpm: float | None = _optional_limit(
        "Tachycardia above this heart rate.", 30, 300)
    heart_rate_low_bpm: float | None = _optional_limit(
        "Bradycardia below this heart rate.", 20, 200)
    spo2_low_percent: float | None = _optional_limit("Hypoxaemia below this SpO2.", 50, 100)
    temperature_high_celsius: float | None = _optional_limit(
        "Fever at or above this body temperature.", 35, 43)
    systolic_high_mmhg: float | None = _optional_limit(
        "Hypertension at or above this systolic pressure.", 60, 260)
    systolic_low_mmhg: float | None = _optional_limit(
        "Hypotension below this systolic pressure.", 50, 200)
    diastolic_high_mmhg: float | None = _optional_limit(
        "Hypertension at or above this diastolic pressure.", 30, 180)
    diastolic_low_mmhg: float | None = _optional_limit(
        "Hypotension below this diastolic pressure.", 20, 150)


@dataclass(frozen=True)
class ConsentSettings:
    patient: str = setting(doc="Pseudonym of the patient who gave (or withdrew) consent.",
                           check=pseudonym)
    summaries: bool = setting(True, doc="Periodic summaries (and device diagnostics) may "
                              "leave the home.")
    events: bool = setting(True, doc="Events and alerts may leave the home.")
    waveforms: bool = setting(False, doc="Raw waveform snippets around alerts may leave the "
                              "home (this gateway sends none yet).")


def listen_address(value: Any) -> str | None:
    host, _, port = str(value).rpartition(":")
    if value and not (host and port.isdigit() and 0 < int(port) < 65536):
        return f"must be HOST:PORT, e.g. 127.0.0.1:9108, or empty, got {value!r}"
    return None


@dataclass(frozen=True)
class MetricsSettings:
    listen: str = setting(
        "127.0.0.1:9108", doc="Where the Prometheus metrics endpoint (GET /metrics) listens; "
        "empty: no endpoint. Keep it on loopback unless a fleet monitor on the LAN needs it.",
        check=listen_address)


@dataclass(frozen=True)
class StatusPageSettings:
    listen: str = setting(
        "127.0.0.1:8080", doc="Where the patient's status page listens; 0.0.0.0:8080 to reach "
        "it from a phone on the home network; empty: no page.", check=listen_address)
    pin_file: str = setting(
        "", doc="The page's PIN, as a salted hash (`edge set-pin` writes it); empty: page.pin "
        "in gateway.data_dir. Without it the page shows no health data.")
    silent_after_s: float = setting(
        900.0, doc="A device silent this long is shown as a problem, with what to do.",
        check=in_range(10, 86400))


@dataclass(frozen=True)
class ControlSettings:
    public_key_file: str = setting(
        "", doc="Ed25519 public key (PEM) that must have signed every remote configuration "
        "and model update; empty: remote updates are refused. Relative paths are relative to "
        "the config file.")


@dataclass(frozen=True)
class EpisodeSettings:
    start_s: float = setting(doc="Seconds after start when the episode begins.",
                             check=in_range(0, 1e9))
    duration_s: float = setting(doc="How long the episode lasts, in seconds.",
                                check=in_range(0, 1e9))
    bpm: float = setting(doc="Heart rate during the episode.", check=in_range(20, 250))
    ramp_s: float = setting(5.0, doc="Seconds to move into and out of the episode.",
                            check=in_range(0.1, 3600))


def simulated_profile(value: Any) -> str | None:
    from edge.sim.wearables import WEARABLES  # the simulator imports this module

    known = ", ".join(sorted(WEARABLES))
    return None if value in WEARABLES else f"no simulated wearable {value!r} (there are: {known})"


@dataclass(frozen=True)
class SimulationSettings:
    profile: str = setting(
        "generic_heart_rate", doc="The device profile the simulated wearable implements "
        "(generic_heart_rate, polar_h10, generic_pulse_oximeter, generic_thermometer, "
        "generic_blood_pressure, generic_glucose_meter, generic_cgm). For whole scenarios "
        "with several devices, episodes and faults, see `edge sim` (docs/HIL.md).",
        check=simulated_profile)
    resting_bpm: float = setting(68.0, doc="Resting heart rate of the simulated patient.",
                                 check=in_range(20, 250))
    episodes: list[EpisodeSettings] = setting(
        [], doc="Scripted heart-rate episodes (tachycardia above the resting rate, bradycardia "
        "below).")
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
    limits: ClinicianLimitSettings = setting(
        ClinicianLimitSettings(), doc="Limits the clinician set for this patient; they "
        "override learned and default limits.")
    simulation: SimulationSettings = setting(
        SimulationSettings(), doc="The simulated wearable's physiology.")


@dataclass(frozen=True)
class Config:
    gateway: GatewaySettings = setting(doc="This gateway.")
    uplink: UplinkSettings = setting(UplinkSettings(), doc="The MQTT broker of the care team.")
    outbox: OutboxSettings = setting(OutboxSettings(), doc="The durable, sealed outbox.")
    summary: SummarySettings = setting(SummarySettings(), doc="Periodic summaries.")
    detect: DetectSettings = setting(DetectSettings(), doc="Event detection.")
    ble: BleSettings = setting(BleSettings(), doc="Bluetooth LE.")
    devices: list[DeviceSettings] = setting([], doc="Wearables this gateway serves.")
    consent: list[ConsentSettings] = setting(
        [], doc="What each patient agreed may leave the home; a patient not listed agreed to "
        "summaries and events, not waveforms. A remote update may change it.")
    control: ControlSettings = setting(ControlSettings(), doc="Signed remote updates.")
    metrics: MetricsSettings = setting(MetricsSettings(), doc="Metrics for fleet monitoring.")
    status_page: StatusPageSettings = setting(StatusPageSettings(),
                                              doc="The patient's local status page.")
    # Where the file was read from; relative paths in it are resolved against its folder.
    base_dir: Path = field(default=Path("."), metadata={"internal": True})
    source: str = field(default="<config>", metadata={"internal": True})

    @property
    def data_path(self) -> Path:
        return self.base_dir / self.gateway.data_dir

    @property
    def outbox_key_path(self) -> Path:
        key_file = self.outbox.key_file
        return self.base_dir / key_file if key_file else self.data_path / "outbox.key"

    @property
    def page_pin_path(self) -> Path:
        pin_file = self.status_page.pin_file
        return self.base_dir / pin_file if pin_file else self.data_path / "page.pin"

    @property
    def models_path(self) -> Path | None:
        """The configured models folder, or None for the ones that ship."""
        return self.base_dir / self.detect.models.dir if self.detect.models.dir else None

    @property
    def profiles_path(self) -> Path | None:
        """The configured profiles folder, or None for the ones that ship."""
        return self.base_dir / self.ble.profiles_dir if self.ble.profiles_dir else None


def load_config(path: Path) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem found."""
    return config_at(read_toml(path), path)


def config_at(table: Mapping[str, Any], path: Path) -> Config:
    """The config `table` is as the file `path` (relative paths resolve against its folder);
    raises ConfigError listing every problem found."""
    config = parse_config(table, str(path))
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
        errors += _limit_order_errors(index, device.limits)
    return errors


_LIMIT_PAIRS = (("heart_rate_low_bpm", "heart_rate_high_bpm"),
                ("systolic_low_mmhg", "systolic_high_mmhg"),
                ("diastolic_low_mmhg", "diastolic_high_mmhg"))


def _limit_order_errors(index: int, limits: ClinicianLimitSettings) -> list[str]:
    errors = []
    for low_key, high_key in _LIMIT_PAIRS:
        low, high = getattr(limits, low_key), getattr(limits, high_key)
        if low is not None and high is not None and low >= high:
            errors.append(f"devices[{index}].limits: {low_key} ({low}) must be below "
                          f"{high_key} ({high})")
    return errors


def _ble_device_errors(index: int, device: DeviceSettings, addresses: set[str]) -> list[str]:
    errors = [f"devices[{index}].{key}: required when link = \"ble\""
              for key in ("address", "profile") if not getattr(device, key)]
    if device.address.upper() in addresses:
        errors.append(f"devices[{index}].address: used by an earlier device")
    addresses.add(device.address.upper())
    return errors
