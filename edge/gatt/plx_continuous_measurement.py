"""PLX Continuous Measurement (0x2A5F), Pulse Oximeter Service 1.0, section 3.2."""

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

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

_FAST_PRESENT = 0x01
_SLOW_PRESENT = 0x02
_MEASUREMENT_STATUS_PRESENT = 0x04
_DEVICE_STATUS_PRESENT = 0x08
_PULSE_AMPLITUDE_INDEX_PRESENT = 0x10


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A5F)
    NAME: ClassVar[str] = "PLX Continuous Measurement"

    # SpO2 in %, pulse rate in bpm; None when the oximeter sent a special value. The fast and
    # slow pairs are both None when absent.
    spo2_percent: float | None
    pulse_rate_bpm: float | None
    spo2_fast_percent: float | None = None
    pulse_rate_fast_bpm: float | None = None
    spo2_slow_percent: float | None = None
    pulse_rate_slow_bpm: float | None = None
    measurement_status: PlxMeasurementStatus | None = None
    device_and_sensor_status: PlxDeviceAndSensorStatus | None = None
    pulse_amplitude_index_percent: float | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(cls.NAME, data)
        flags = reader.u8("flags")
        normal = read_spo2_pulse_rate(reader, "normal")
        fast = read_spo2_pulse_rate(reader, "fast", _FAST_PRESENT) if flags & _FAST_PRESENT \
            else (None, None)
        slow = read_spo2_pulse_rate(reader, "slow", _SLOW_PRESENT) if flags & _SLOW_PRESENT \
            else (None, None)
        status = (read_measurement_status(reader, _MEASUREMENT_STATUS_PRESENT)
                  if flags & _MEASUREMENT_STATUS_PRESENT else None)
        device_status = (read_device_and_sensor_status(reader, _DEVICE_STATUS_PRESENT)
                         if flags & _DEVICE_STATUS_PRESENT else None)
        amplitude = (reader.sfloat("pulse amplitude index", _PULSE_AMPLITUDE_INDEX_PRESENT)
                     if flags & _PULSE_AMPLITUDE_INDEX_PRESENT else None)
        reader.expect_end(flags_announce(flags))
        return cls(*normal, *fast, *slow, status, device_status, amplitude)

    def to_bytes(self) -> bytes:
        flags = 0
        out = bytearray(spo2_pulse_rate_bytes(self.spo2_percent, self.pulse_rate_bpm))
        for pair, flag in (((self.spo2_fast_percent, self.pulse_rate_fast_bpm), _FAST_PRESENT),
                           ((self.spo2_slow_percent, self.pulse_rate_slow_bpm), _SLOW_PRESENT)):
            if pair != (None, None):
                flags |= flag
                out += spo2_pulse_rate_bytes(*pair)
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
