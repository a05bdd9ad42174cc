"""What every virtual wearable has: Device Information, a battery, its own clock, and a radio to
speak through."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from edge.gatt.battery_level import BatteryLevel
from edge.gatt.date_time import DateTime
from edge.gatt.device_information import (
    FirmwareRevision,
    ManufacturerName,
    ModelNumber,
    SerialNumber,
)
from edge.sim.peripheral import Characteristic, Peripheral, Radio, Service
from edge.sim.physiology import Patient
from edge.typed_toml import in_range, matches, setting

# A characteristic's UUID and the bytes the device sends on it.
Value = tuple[str, bytes]


@dataclass(frozen=True)
class DeviceSpec:
    """One virtual wearable of a scenario."""

    id: str = setting(doc="Pseudonymous device id (the gateway's `devices[].id`).",
                      check=matches(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
                                    "letters, digits, '-' and '_' (a pseudonym)"))
    profile: str = setting(doc="The device profile it implements (a file in device_profiles/).")
    address: str = setting("", doc="Bluetooth address (random static); empty: one is made up "
                           "from the device's position in the file.",
                           check=matches(r"(|([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})",
                                         "an address like C0:DE:00:00:00:01"))
    name: str = setting("", doc="Advertised name; empty: the model and serial number.")
    battery_pct: float = setting(90.0, doc="Battery charge at the start, %.",
                                 check=in_range(0, 100))
    interval_s: float = setting(0.0, doc="Seconds between measurements of a device that "
                                "measures now and then (thermometer, cuff, glucose); 0: its own "
                                "default.", check=in_range(0, 86400))
    ecg_hz: float = setting(130.0, doc="ECG sampling rate of an ECG device.",
                            check=in_range(100, 1000))
    replay: str = setting("", doc="An ECG device streams this WFDB recording (its .hea file, "
                          "relative to the scenario file) at its own rate instead of drawing "
                          "one; the rest of the physiology still comes from the scenario.")


class Every:
    """A periodic schedule: the times of the ticks that fell due, first at `first_s`."""

    def __init__(self, period_s: float, first_s: float = 0.0) -> None:
        self.period_s = period_s
        self._next_s = first_s

    def due(self, t: float) -> list[float]:
        ticks = []
        while self._next_s <= t:
            ticks.append(self._next_s)
            self._next_s += self.period_s
        return ticks


class Wearable:
    """A virtual wearable of one device profile: `peripheral` is what a central sees (GATT table
    and advertisement); `values_until(t)` what it sends as run time passes."""

    profile: ClassVar[str]
    manufacturer: ClassVar[str] = "Edge Simulated Devices"
    model: ClassVar[str]
    advertised_services: ClassVar[tuple[str, ...]]
    manufacturer_data: ClassVar[dict[int, bytes]] = {}

    default_interval_s: ClassVar[float] = 1.0
    # When the first measurement is taken (run time, s); the interval's end by default.
    first_reading_s: ClassVar[float | None] = None

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        """`epoch`: the UTC time of run time 0."""
        self.id = spec.id
        self.patient = patient
        self.epoch = epoch
        self.battery_percent = spec.battery_pct
        self.interval_s = spec.interval_s or self.default_interval_s
        first = self.interval_s if self.first_reading_s is None else self.first_reading_s
        self.readings = Every(self.interval_s, first_s=first)
        # How far the device's own clock has drifted ahead of true time, in seconds.
        self.clock_offset_s = 0.0
        self._radio: Radio | None = None
        serial = spec.address.replace(":", "")[-8:]
        self.peripheral = Peripheral(
            spec.address, name=spec.name or f"{self.model} {serial}", address_type="random",
            service_uuids=list(self.advertised_services),
            manufacturer_data=dict(self.manufacturer_data),
            services=[*self.services(), self._device_information(serial), self._battery()])

    def services(self) -> Sequence[Service]:
        raise NotImplementedError

    def values_until(self, t: float) -> list[Value]:
        """What the device sends from its previous call up to run time `t`."""
        raise NotImplementedError

    def device_time(self, t: float) -> DateTime:
        """The device's own clock at run time `t`, to the second, as it stamps measurements."""
        at = dt.datetime.fromtimestamp(self.epoch + t + self.clock_offset_s, dt.UTC)
        return DateTime(at.year, at.month, at.day, at.hour, at.minute, at.second)

    def link_lost(self) -> None:
        """What the device does when its link drops (a Polar H10 stops its PMD streams)."""

    def attach(self, radio: Radio) -> None:
        """The radio that carries this device's indications answering a central's writes."""
        self._radio = radio

    def answer(self, characteristic: str, payload: bytes) -> None:
        if self._radio is not None:
            self._radio.notify(self.peripheral.address, characteristic, payload)

    def drain_battery(self, percent: float) -> list[Value]:
        """Lose `percent` of charge; a notification when the level shown changes."""
        shown = round(self.battery_percent)
        self.battery_percent = max(0.0, self.battery_percent - percent)
        if round(self.battery_percent) == shown:
            return []
        return [(BatteryLevel.UUID, self._battery_level())]

    def _battery_level(self) -> bytes:
        return BatteryLevel(round(self.battery_percent)).to_bytes()

    def _battery(self) -> Service:
        return Service("180f", [Characteristic(BatteryLevel.UUID, ["read", "notify"],
                                               on_read=self._battery_level)])

    def _device_information(self, serial: str) -> Service:
        return Service("180a", [
            Characteristic(ManufacturerName.UUID, ["read"],
                           ManufacturerName(self.manufacturer).to_bytes()),
            Characteristic(ModelNumber.UUID, ["read"], ModelNumber(self.model).to_bytes()),
            Characteristic(SerialNumber.UUID, ["read"], SerialNumber(serial).to_bytes()),
            Characteristic(FirmwareRevision.UUID, ["read"], FirmwareRevision("sim-1.0").to_bytes()),
        ])
