"""Blood Pressure Measurement (0x2A35), Blood Pressure Service 1.0, section 3.1.

Intermediate Cuff Pressure (0x2A36) shares this layout; the record helpers here serve both.
"""

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Self

from edge.gatt.codes import known_flags
from edge.gatt.date_time import DateTime, read_date_time
from edge.gatt.ieee11073 import encode_sfloat
from edge.gatt.reader import FieldReader, flags_announce
from edge.gatt.units import PressureUnit, to_mmhg
from edge.gatt.uuids import sig_uuid

_KPA = 0x01
_TIME_STAMP_PRESENT = 0x02
_PULSE_RATE_PRESENT = 0x04
_USER_ID_PRESENT = 0x08
_STATUS_PRESENT = 0x10
_PRESSURES = struct.Struct("<HHH")


class BloodPressureStatus(enum.IntFlag):
    BODY_MOVEMENT_DETECTED = 1 << 0
    CUFF_TOO_LOOSE = 1 << 1
    IRREGULAR_PULSE_DETECTED = 1 << 2
    # Bits 3-4 are a 2-bit range code: 0 in range, 1 above, 2 below; 3 (reserved) shows as both.
    PULSE_RATE_ABOVE_UPPER_LIMIT = 1 << 3
    PULSE_RATE_BELOW_LOWER_LIMIT = 1 << 4
    IMPROPER_MEASUREMENT_POSITION = 1 << 5


class PressureRecord(NamedTuple):
    """The fields of a Blood Pressure Measurement or Intermediate Cuff Pressure value."""

    pressures: tuple[float | None, float | None, float | None]
    unit: PressureUnit
    time_stamp: DateTime | None
    pulse_rate_bpm: float | None
    user_id: int | None
    measurement_status: BloodPressureStatus | None


def read_pressure_record(characteristic: str, data: bytes) -> PressureRecord:
    reader = FieldReader(characteristic, data)
    flags = reader.u8("flags")
    unit = PressureUnit.KPA if flags & _KPA else PressureUnit.MMHG
    pressures = (reader.sfloat("systolic"), reader.sfloat("diastolic"),
                 reader.sfloat("mean arterial pressure"))
    time_stamp = (read_date_time(reader, "time stamp", _TIME_STAMP_PRESENT)
                  if flags & _TIME_STAMP_PRESENT else None)
    pulse_rate = (reader.sfloat("pulse rate", _PULSE_RATE_PRESENT)
                  if flags & _PULSE_RATE_PRESENT else None)
    user_id = reader.u8("user id", _USER_ID_PRESENT) if flags & _USER_ID_PRESENT else None
    status = (known_flags(BloodPressureStatus, reader.u16("measurement status", _STATUS_PRESENT))
              if flags & _STATUS_PRESENT else None)
    reader.expect_end(flags_announce(flags))
    return PressureRecord(pressures, unit, time_stamp, pulse_rate, user_id, status)


def pressure_record_bytes(record: PressureRecord) -> bytes:
    flags = _KPA if record.unit is PressureUnit.KPA else 0
    out = bytearray(_PRESSURES.pack(*map(encode_sfloat, record.pressures)))
    if record.time_stamp is not None:
        flags |= _TIME_STAMP_PRESENT
        out += record.time_stamp.to_bytes()
    if record.pulse_rate_bpm is not None:
        flags |= _PULSE_RATE_PRESENT
        out += struct.pack("<H", encode_sfloat(record.pulse_rate_bpm))
    if record.user_id is not None:
        flags |= _USER_ID_PRESENT
        out.append(record.user_id)
    if record.measurement_status is not None:
        flags |= _STATUS_PRESENT
        out += struct.pack("<H", record.measurement_status)
    return bytes([flags]) + bytes(out)


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A35)
    NAME: ClassVar[str] = "Blood Pressure Measurement"
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = (
        "systolic_mmhg", "diastolic_mmhg", "mean_arterial_pressure_mmhg")

    # In `unit`; None when the monitor sent NaN or another special value.
    systolic: float | None
    diastolic: float | None
    mean_arterial_pressure: float | None
    unit: PressureUnit = PressureUnit.MMHG
    time_stamp: DateTime | None = None
    pulse_rate_bpm: float | None = None
    # 255 means "unknown user".
    user_id: int | None = None
    measurement_status: BloodPressureStatus | None = None

    @property
    def systolic_mmhg(self) -> float | None:
        return to_mmhg(self.systolic, self.unit)

    @property
    def diastolic_mmhg(self) -> float | None:
        return to_mmhg(self.diastolic, self.unit)

    @property
    def mean_arterial_pressure_mmhg(self) -> float | None:
        return to_mmhg(self.mean_arterial_pressure, self.unit)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        record = read_pressure_record(cls.NAME, data)
        systolic, diastolic, mean_arterial_pressure = record.pressures
        return cls(systolic, diastolic, mean_arterial_pressure, record.unit, record.time_stamp,
                   record.pulse_rate_bpm, record.user_id, record.measurement_status)

    def to_bytes(self) -> bytes:
        return pressure_record_bytes(PressureRecord(
            (self.systolic, self.diastolic, self.mean_arterial_pressure), self.unit,
            self.time_stamp, self.pulse_rate_bpm, self.user_id, self.measurement_status))
