"""CGM Measurement (0x2AA7), Continuous Glucose Monitoring Service 1.0.1, section 3.2.

A notification carries one or more records back to back, each starting with its own size. Each
record ends with an E2E-CRC only when the sensor's CGM Feature says "E2E-CRC supported", which the
collector reads once; pass that to `e2e_crc`. The sensor status annunciation octets come in the
order Status, Cal/Temp, Warning (as Wireshark's packet-btatt.c reads them).
"""

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import known_flags
from edge.gatt.crc import crc16_mcrf4xx
from edge.gatt.errors import DecodeError
from edge.gatt.ieee11073 import encode_sfloat
from edge.gatt.reader import FieldReader, flags_announce
from edge.gatt.uuids import sig_uuid

_NAME = "CGM Measurement"
_TREND_PRESENT = 0x01
_QUALITY_PRESENT = 0x02
_WARNING_PRESENT = 0x20
_CAL_TEMP_PRESENT = 0x40
_STATUS_PRESENT = 0x80
_MIN_SIZE = 6
_CRC_SIZE = 2
_U16 = struct.Struct("<H")


class CgmStatus(enum.IntFlag):
    SESSION_STOPPED = 1 << 0
    DEVICE_BATTERY_LOW = 1 << 1
    SENSOR_TYPE_INCORRECT = 1 << 2
    SENSOR_MALFUNCTION = 1 << 3
    DEVICE_SPECIFIC_ALERT = 1 << 4
    GENERAL_DEVICE_FAULT = 1 << 5


class CgmCalTemp(enum.IntFlag):
    TIME_SYNCHRONIZATION_REQUIRED = 1 << 0
    CALIBRATION_NOT_ALLOWED = 1 << 1
    CALIBRATION_RECOMMENDED = 1 << 2
    CALIBRATION_REQUIRED = 1 << 3
    SENSOR_TEMPERATURE_TOO_HIGH = 1 << 4
    SENSOR_TEMPERATURE_TOO_LOW = 1 << 5


class CgmWarning(enum.IntFlag):
    BELOW_PATIENT_LOW_LEVEL = 1 << 0
    ABOVE_PATIENT_HIGH_LEVEL = 1 << 1
    BELOW_HYPO_LEVEL = 1 << 2
    ABOVE_HYPER_LEVEL = 1 << 3
    RATE_OF_DECREASE_EXCEEDED = 1 << 4
    RATE_OF_INCREASE_EXCEEDED = 1 << 5
    BELOW_DEVICE_RANGE = 1 << 6
    ABOVE_DEVICE_RANGE = 1 << 7


@dataclass(frozen=True, slots=True)
class CgmMeasurement:
    """One CGM measurement record."""

    UUID: ClassVar[str] = sig_uuid(0x2AA7)
    NAME: ClassVar[str] = _NAME

    # mg/dL; None when the sensor sent a special value.
    glucose_mg_per_dl: float | None
    # Minutes since the session started.
    time_offset_minutes: int
    # Each annunciation octet is None when its flag is clear.
    status: CgmStatus | None = None
    cal_temp: CgmCalTemp | None = None
    warning: CgmWarning | None = None
    # (mg/dL)/min and %.
    trend_mg_per_dl_per_min: float | None = None
    quality_percent: float | None = None

    @classmethod
    def from_bytes(cls, data: bytes, e2e_crc: bool = False) -> Self:
        """Decode exactly one record."""
        if not data:
            raise DecodeError(_NAME, "empty packet, expected a size field")
        if data[0] != len(data):
            raise DecodeError(_NAME, f"size: field says {data[0]} bytes but the record has "
                              f"{len(data)}")
        return cls._record(data, e2e_crc)

    @classmethod
    def from_bytes_many(cls, data: bytes, e2e_crc: bool = False) -> tuple[Self, ...]:
        """Decode every record of a notification."""
        if not data:
            raise DecodeError(_NAME, "empty packet, expected a size field")
        records: list[Self] = []
        offset = 0
        while offset < len(data):
            size = data[offset]
            if size < _MIN_SIZE or offset + size > len(data):
                raise DecodeError(_NAME, f"record {len(records) + 1}: size field says {size} "
                                  f"bytes, {len(data) - offset} remain (a record has at least "
                                  f"{_MIN_SIZE})")
            try:
                records.append(cls._record(data[offset : offset + size], e2e_crc))
            except DecodeError as error:
                raise DecodeError(_NAME, f"record {len(records) + 1}: {error.reason}") from error
            offset += size
        return tuple(records)

    @classmethod
    def _record(cls, record: bytes, e2e_crc: bool) -> Self:
        if e2e_crc:
            record = _checked_crc(record)
        reader = FieldReader(_NAME, record)
        reader.u8("size")
        flags = reader.u8("flags")
        glucose = reader.sfloat("glucose concentration")
        time_offset = reader.u16("time offset")
        status = (known_flags(CgmStatus, reader.u8("status octet", _STATUS_PRESENT))
                  if flags & _STATUS_PRESENT else None)
        cal_temp = (known_flags(CgmCalTemp, reader.u8("cal/temp octet", _CAL_TEMP_PRESENT))
                    if flags & _CAL_TEMP_PRESENT else None)
        warning = (known_flags(CgmWarning, reader.u8("warning octet", _WARNING_PRESENT))
                   if flags & _WARNING_PRESENT else None)
        trend = reader.sfloat("trend", _TREND_PRESENT) if flags & _TREND_PRESENT else None
        quality = reader.sfloat("quality", _QUALITY_PRESENT) if flags & _QUALITY_PRESENT else None
        reader.expect_end(flags_announce(flags) + (" and the E2E-CRC" if e2e_crc else ""))
        return cls(glucose, time_offset, status, cal_temp, warning, trend, quality)

    def to_bytes(self, e2e_crc: bool = False) -> bytes:
        flags = 0
        body = bytearray(_U16.pack(encode_sfloat(self.glucose_mg_per_dl)))
        body += _U16.pack(self.time_offset_minutes)
        for octet, flag in ((self.status, _STATUS_PRESENT), (self.cal_temp, _CAL_TEMP_PRESENT),
                            (self.warning, _WARNING_PRESENT)):
            if octet is not None:
                flags |= flag
                body.append(octet)
        for value, flag in ((self.trend_mg_per_dl_per_min, _TREND_PRESENT),
                            (self.quality_percent, _QUALITY_PRESENT)):
            if value is not None:
                flags |= flag
                body += _U16.pack(encode_sfloat(value))
        size = 2 + len(body) + (_CRC_SIZE if e2e_crc else 0)
        record = bytes([size, flags]) + bytes(body)
        return record + _U16.pack(crc16_mcrf4xx(record)) if e2e_crc else record


@dataclass(frozen=True, slots=True)
class CgmMeasurementRecords:
    """A CGM Measurement notification: its records, oldest first. `decode()` returns this,
    reading records without E2E-CRC; use CgmMeasurement.from_bytes_many(data, e2e_crc=True)
    for a sensor whose CGM Feature announces the CRC."""

    UUID: ClassVar[str] = sig_uuid(0x2AA7)
    NAME: ClassVar[str] = _NAME

    records: tuple[CgmMeasurement, ...]

    @classmethod
    def from_bytes(cls, data: bytes, e2e_crc: bool = False) -> Self:
        return cls(CgmMeasurement.from_bytes_many(data, e2e_crc))

    def to_bytes(self, e2e_crc: bool = False) -> bytes:
        return b"".join(record.to_bytes(e2e_crc) for record in self.records)


def _checked_crc(record: bytes) -> bytes:
    """The record without its CRC, which must match."""
    if len(record) < _MIN_SIZE + _CRC_SIZE:
        raise DecodeError(_NAME, f"E2E-CRC: record of {len(record)} bytes is too short for the "
                          f"{_MIN_SIZE} mandatory bytes and the CRC")
    body, sent = record[:-_CRC_SIZE], _U16.unpack_from(record, len(record) - _CRC_SIZE)[0]
    computed = crc16_mcrf4xx(body)
    if sent != computed:
        raise DecodeError(_NAME, f"E2E-CRC: record says 0x{sent:04x}, its bytes give "
                          f"0x{computed:04x}")
    return body
