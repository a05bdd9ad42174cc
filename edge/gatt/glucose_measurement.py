"""Glucose Measurement (0x2A18), Glucose Service 1.0, section 3.1."""

import datetime as dt
import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Self

from edge.gatt.codes import code_name, known_flags
from edge.gatt.date_time import DateTime, read_date_time
from edge.gatt.ieee11073 import encode_sfloat
from edge.gatt.reader import FieldReader, flags_announce
from edge.gatt.units import GlucoseUnit, to_mg_per_dl
from edge.gatt.uuids import sig_uuid

_TIME_OFFSET_PRESENT = 0x01
_CONCENTRATION_PRESENT = 0x02
_MOL_PER_L = 0x04
_STATUS_PRESENT = 0x08
_CONTEXT_FOLLOWS = 0x10
_HEADER = struct.Struct("<H")

SAMPLE_TYPES = {1: "capillary_whole_blood", 2: "capillary_plasma", 3: "venous_whole_blood",
                4: "venous_plasma", 5: "arterial_whole_blood", 6: "arterial_plasma",
                7: "undetermined_whole_blood", 8: "undetermined_plasma", 9: "interstitial_fluid",
                10: "control_solution"}
SAMPLE_LOCATIONS = {1: "finger", 2: "alternate_site_test", 3: "earlobe", 4: "control_solution",
                    15: "not_available"}


class GlucoseSensorStatus(enum.IntFlag):
    DEVICE_BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH_FOR_DEVICE = 1 << 5
    RESULT_TOO_LOW_FOR_DEVICE = 1 << 6
    TEMPERATURE_TOO_HIGH = 1 << 7
    TEMPERATURE_TOO_LOW = 1 << 8
    READ_INTERRUPTED = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


@dataclass(frozen=True, slots=True)
class GlucoseMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A18)
    NAME: ClassVar[str] = "Glucose Measurement"
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = (
        "concentration_mg_per_dl", "sample_type_name", "sample_location_name", "measured_at")

    sequence_number: int
    base_time: DateTime
    time_offset_minutes: int | None = None
    # The concentration, its unit and the sample type and location come together (flag 0x02):
    # all None when absent. The concentration alone is None when the meter sent a special value.
    concentration: float | None = None
    unit: GlucoseUnit | None = None
    sample_type: int | None = None
    sample_location: int | None = None
    sensor_status: GlucoseSensorStatus | None = None
    context_information_follows: bool = False

    @property
    def concentration_mg_per_dl(self) -> float | None:
        return None if self.unit is None else to_mg_per_dl(self.concentration, self.unit)

    @property
    def sample_type_name(self) -> str | None:
        return code_name(SAMPLE_TYPES, self.sample_type)

    @property
    def sample_location_name(self) -> str | None:
        return code_name(SAMPLE_LOCATIONS, self.sample_location)

    @property
    def measured_at(self) -> dt.datetime | None:
        base = self.base_time.datetime
        if base is None:
            return None
        return base + dt.timedelta(minutes=self.time_offset_minutes or 0)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(cls.NAME, data)
        flags = reader.u8("flags")
        sequence_number = reader.u16("sequence number")
        base_time = read_date_time(reader, "base time")
        time_offset = (reader.s16("time offset", _TIME_OFFSET_PRESENT)
                       if flags & _TIME_OFFSET_PRESENT else None)
        sample = _read_sample(reader, flags) if flags & _CONCENTRATION_PRESENT else _NO_SAMPLE
        status = (reader.u16("sensor status annunciation", _STATUS_PRESENT)
                  if flags & _STATUS_PRESENT else None)
        reader.expect_end(flags_announce(flags))
        return cls(sequence_number, base_time, time_offset, *sample,
                   None if status is None else known_flags(GlucoseSensorStatus, status),
                   bool(flags & _CONTEXT_FOLLOWS))

    def to_bytes(self) -> bytes:
        flags = _CONTEXT_FOLLOWS if self.context_information_follows else 0
        out = bytearray(_HEADER.pack(self.sequence_number) + self.base_time.to_bytes())
        if self.time_offset_minutes is not None:
            flags |= _TIME_OFFSET_PRESENT
            out += struct.pack("<h", self.time_offset_minutes)
        if self.unit is not None:
            flags |= _CONCENTRATION_PRESENT | (_MOL_PER_L if self.unit is GlucoseUnit.MOL_PER_L
                                               else 0)
            out += struct.pack("<H", encode_sfloat(self.concentration))
            out.append((self.sample_location or 0) << 4 | (self.sample_type or 0))
        if self.sensor_status is not None:
            flags |= _STATUS_PRESENT
            out += struct.pack("<H", self.sensor_status)
        return bytes([flags]) + bytes(out)


class _Sample(NamedTuple):
    concentration: float | None
    unit: GlucoseUnit | None
    sample_type: int | None
    sample_location: int | None


_NO_SAMPLE = _Sample(None, None, None, None)


def _read_sample(reader: FieldReader, flags: int) -> _Sample:
    concentration = reader.sfloat("glucose concentration", _CONCENTRATION_PRESENT)
    type_and_location = reader.u8("type and sample location", _CONCENTRATION_PRESENT)
    unit = GlucoseUnit.MOL_PER_L if flags & _MOL_PER_L else GlucoseUnit.KG_PER_L
    return _Sample(concentration, unit, type_and_location & 0x0F, type_and_location >> 4)
