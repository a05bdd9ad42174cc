"""A blood-pressure cuff (Blood Pressure Service): systolic, diastolic, mean arterial pressure
and pulse rate, time-stamped by the device, indicated every `interval_s`."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.blood_pressure_measurement import BloodPressureMeasurement
from edge.gatt.intermediate_cuff_pressure import IntermediateCuffPressure
from edge.sim.peripheral import Characteristic, Service
from edge.sim.wearables.base import Value, Wearable


class BloodPressureCuff(Wearable):
    profile: ClassVar[str] = "generic_blood_pressure"
    model: ClassVar[str] = "BPM"
    advertised_services: ClassVar[tuple[str, ...]] = ("1810",)
    first_reading_s: ClassVar[float | None] = 10.0
    default_interval_s: ClassVar[float] = 300.0


    def services(self) -> Sequence[Service]:
        return [Service("1810", [
            Characteristic(BloodPressureMeasurement.UUID, ["indicate"]),
            Characteristic(IntermediateCuffPressure.UUID, ["notify"]),
            Characteristic("2a49", ["read"], b"\x00\x00"),  # Blood Pressure Feature
        ])]

    def values_until(self, t: float) -> list[Value]:
        values = []
        for tick in self.readings.due(t):
            systolic, diastolic = self.patient.blood_pressure_at(tick)
            mean = diastolic + (systolic - diastolic) / 3
            values.append((BloodPressureMeasurement.UUID, BloodPressureMeasurement(
                round(systolic), round(diastolic), round(mean), time_stamp=self.device_time(tick),
                pulse_rate_bpm=round(self.patient.heart_rate_at(tick))).to_bytes()))
        return values
