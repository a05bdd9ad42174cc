"""A thermometer (Health Thermometer Service): a body temperature, time-stamped by the device,
indicated every `interval_s`."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.temperature_measurement import IntermediateTemperature, TemperatureMeasurement
from edge.sim.peripheral import Characteristic, Service
from edge.sim.physiology import Patient
from edge.sim.wearables.base import DeviceSpec, Every, Value, Wearable

_BODY = 2  # temperature type: body (general)


class Thermometer(Wearable):
    profile: ClassVar[str] = "generic_thermometer"
    model: ClassVar[str] = "HTS"
    advertised_services: ClassVar[tuple[str, ...]] = ("1809",)
    default_interval_s: ClassVar[float] = 60.0

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        super().__init__(spec, patient, epoch)
        self._measurements = Every(self.interval_s, first_s=5.0)

    def services(self) -> Sequence[Service]:
        return [Service("1809", [
            Characteristic(TemperatureMeasurement.UUID, ["indicate"]),
            Characteristic(IntermediateTemperature.UUID, ["notify"]),
        ])]

    def values_until(self, t: float) -> list[Value]:
        return [(TemperatureMeasurement.UUID, TemperatureMeasurement(
            round(self.patient.temperature_at(tick), 1), time_stamp=self.device_time(tick),
            temperature_type=_BODY).to_bytes())
            for tick in self._measurements.due(t) if not self.patient.off_body(tick)]
