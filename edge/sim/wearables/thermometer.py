"""A thermometer (Health Thermometer Service): a body temperature, time-stamped by the device,
indicated every `interval_s`."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.temperature_measurement import IntermediateTemperature, TemperatureMeasurement
from edge.sim.peripheral import Characteristic, Service
from edge.sim.wearables.base import Value, Wearable

_BODY = 2  # temperature type: body (general)


class Thermometer(Wearable):
    profile: ClassVar[str] = "generic_thermometer"
    model: ClassVar[str] = "HTS"
    advertised_services: ClassVar[tuple[str, ...]] = ("1809",)
    first_reading_s: ClassVar[float | None] = 5.0
    default_interval_s: ClassVar[float] = 60.0


    def services(self) -> Sequence[Service]:
        return [Service("1809", [
            Characteristic(TemperatureMeasurement.UUID, ["indicate"]),
            Characteristic(IntermediateTemperature.UUID, ["notify"]),
        ])]

    def values_until(self, t: float) -> list[Value]:
        return [(TemperatureMeasurement.UUID, TemperatureMeasurement(
            round(self.patient.temperature_at(tick), 1), time_stamp=self.device_time(tick),
            temperature_type=_BODY).to_bytes())
            for tick in self.readings.due(t) if not self.patient.off_body(tick)]
