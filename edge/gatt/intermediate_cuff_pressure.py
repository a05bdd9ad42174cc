"""Intermediate Cuff Pressure (0x2A36), Blood Pressure Service 1.0, section 3.2.

The layout of Blood Pressure Measurement, with the current cuff pressure in the systolic field;
the diastolic and mean arterial pressure fields are unused (NaN when sent, ignored when read).
"""

from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.blood_pressure_measurement import (
    BloodPressureStatus,
    PressureRecord,
    pressure_record_bytes,
    read_pressure_record,
)
from edge.gatt.date_time import DateTime
from edge.gatt.units import PressureUnit, to_mmhg
from edge.gatt.uuids import sig_uuid


@dataclass(frozen=True, slots=True)
class IntermediateCuffPressure:
    UUID: ClassVar[str] = sig_uuid(0x2A36)
    NAME: ClassVar[str] = "Intermediate Cuff Pressure"
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("current_cuff_pressure_mmhg",)

    # In `unit`; None when the monitor sent NaN or another special value.
    current_cuff_pressure: float | None
    unit: PressureUnit = PressureUnit.MMHG
    time_stamp: DateTime | None = None
    pulse_rate_bpm: float | None = None
    user_id: int | None = None
    measurement_status: BloodPressureStatus | None = None

    @property
    def current_cuff_pressure_mmhg(self) -> float | None:
        return to_mmhg(self.current_cuff_pressure, self.unit)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        record = read_pressure_record(cls.NAME, data)
        return cls(record.pressures[0], record.unit, record.time_stamp, record.pulse_rate_bpm,
                   record.user_id, record.measurement_status)

    def to_bytes(self) -> bytes:
        return pressure_record_bytes(PressureRecord(
            (self.current_cuff_pressure, None, None), self.unit, self.time_stamp,
            self.pulse_rate_bpm, self.user_id, self.measurement_status))
