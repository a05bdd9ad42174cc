"""PLX Spot-Check Measurement (0x2A5E), Pulse Oximeter Service 1.0, section 3.1."""

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.date_time import DateTime, read_date_time
from edge.gatt.ieee11073 import encode_sfloat
from edge.gatt.plx_status import (
    PlxDeviceAndSensorStatus,
    PlxMeasurementStatus,
    device_and_sensor_status_bytes,
    measurement_status_bytes,
    read_device_and_sensor_status,
    read_measurement_status,
    read_spo2_pulse_rate,
    spo2_pulse_rate_bytes,
)
from edge.gatt.reader import FieldReader, flags_announce
from edge.gatt.uuids import sig_uuid

_TIME_STAMP_PRESENT = 0x01
_MEASUREMENT_STATUS_PRESENT = 0x02
_DEVICE_STATUS_PRESENT = 0x04
_PULSE_AMPLITUDE_INDEX_PRESENT = 0x08
_DEVICE_CLOCK_NOT_SET = 0x10


@dataclass(frozen=True, slots=True)
class PlxSpotCheckMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A5E)
    NAME: ClassVar[str] = "PLX Spot-Check Measurement"

    # SpO2 in %, pulse rate in bpm; None when the oximeter sent a special value.
    spo2_percent: float | None
    pulse_rate_bpm: float | None
    time_stamp: DateTime | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_and_sensor_status: PlxDeviceAndSensorStatus | None = None
    pulse_amplitude_index_percent: float | None = None
    device_clock_not_set: bool = False

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(cls.NAME, data)
        flags = reader.u8("flags")
        spo2, pulse_rate = read_spo2_pulse_rate(reader, "spot-check")
        time_stamp = (read_date_time(reader, "time stamp", _TIME_STAMP_PRESENT)
                      if flags & _TIME_STAMP_PRESENT else None)
        status = (read_measurement_status(reader, _MEASUREMENT_STATUS_PRESENT)
                  if flags & _MEASUREMENT_STATUS_PRESENT else None)
        device_status = (read_device_and_sensor_status(reader, _DEVICE_STATUS_PRESENT)
                         if flags & _DEVICE_STATUS_PRESENT else None)
        amplitude = (reader.sfloat("pulse amplitude index", _PULSE_AMPLITUDE_INDEX_PRESENT)
                     if flags & _PULSE_AMPLITUDE_INDEX_PRESENT else None)
        reader.expect_end(flags_announce(flags))
        return cls(spo2, pulse_rate, time_stamp, status, device_status, amplitude,
                   bool(flags & _DEVICE_CLOCK_NOT_SET))

    def to_bytes(self) -> bytes:
        flags = _DEVICE_CLOCK_NOT_SET if self.device_clock_not_set else 0
        out = bytearray(spo2_pulse_rate_bytes(self.spo2_percent, self.pulse_rate_bpm))
        if self.time_stamp is not None:
            flags |= _TIME_STAMP_PRESENT
            out += self.time_stamp.to_bytes()
        if self.measurement_status is not None:
            flags |= _MEASUREMENT_STATUS_PRESENT
            out += measurement_status_bytes(self.measurement_status)
        if self.device_and_sensor_status is not None:
            flags |= _DEVICE_STATUS_PRESENT
            out += device_and_sensor_status_bytes(self.device_and_sensor_status)
        if self.pulse_amplitude_index_percent is not None:
            flags |= _PULSE_AMPLITUDE_INDEX_PRESENT
            out += struct.pack("<H", encode_sfloat(self.pulse_amplitude_index_percent))
        return bytes([flags]) + bytes(out)
