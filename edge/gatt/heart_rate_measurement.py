"""Heart Rate Measurement (0x2A37), Heart Rate Service 1.0, section 3.1."""

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.errors import DecodeError
from edge.gatt.uuids import sig_uuid

_UINT16_FORMAT = 0x01
_CONTACT_DETECTED = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY_PRESENT = 0x08
_RR_PRESENT = 0x10
_NAME = "Heart Rate Measurement"
_RR_UNITS_PER_SECOND = 1024


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A37)

    heart_rate_bpm: int
    # None when the sensor does not support contact detection.
    sensor_contact: bool | None = None
    energy_expended_kj: int | None = None
    # Oldest first, in the device's unit of 1/1024 s.
    rr_intervals_1024: tuple[int, ...] = ()

    @property
    def rr_intervals_ms(self) -> tuple[float, ...]:
        return tuple(rr * 1000 / _RR_UNITS_PER_SECOND for rr in self.rr_intervals_1024)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if not data:
            raise DecodeError(_NAME, "empty packet, expected at least flags and heart rate")
        flags = data[0]
        wide = flags & _UINT16_FORMAT
        offset = 3 if wide else 2
        if len(data) < offset:
            raise DecodeError(_NAME, f"heart rate: flags 0x{flags:02x} announce "
                              f"{'uint16' if wide else 'uint8'} but packet has {len(data)} bytes")
        heart_rate = data[1] | (data[2] << 8) if wide else data[1]
        energy = None
        if flags & _ENERGY_PRESENT:
            if len(data) < offset + 2:
                raise DecodeError(_NAME, f"energy expended: flag 0x08 set but only "
                                  f"{len(data) - offset} bytes remain, need 2")
            energy = data[offset] | (data[offset + 1] << 8)
            offset += 2
        remaining = len(data) - offset
        if flags & _RR_PRESENT:
            if remaining == 0:
                raise DecodeError(_NAME, "RR interval: flag 0x10 set but no RR bytes follow")
            if remaining % 2:
                raise DecodeError(_NAME, f"RR interval: {remaining} bytes remain, "
                                  "not a whole number of uint16 values")
            rr = struct.unpack_from(f"<{remaining // 2}H", data, offset)
        elif remaining:
            raise DecodeError(_NAME, f"{remaining} unexpected trailing bytes "
                              f"after the fields flags 0x{flags:02x} announce")
        else:
            rr = ()
        contact = bool(flags & _CONTACT_DETECTED) if flags & _CONTACT_SUPPORTED else None
        return cls(heart_rate, contact, energy, rr)

    def to_bytes(self) -> bytes:
        flags = 0
        wide = self.heart_rate_bpm > 0xFF
        out = bytearray()
        if wide:
            flags |= _UINT16_FORMAT
            out += struct.pack("<H", self.heart_rate_bpm)
        else:
            out.append(self.heart_rate_bpm)
        if self.sensor_contact is not None:
            flags |= _CONTACT_SUPPORTED | (_CONTACT_DETECTED if self.sensor_contact else 0)
        if self.energy_expended_kj is not None:
            flags |= _ENERGY_PRESENT
            out += struct.pack("<H", self.energy_expended_kj)
        if self.rr_intervals_1024:
            flags |= _RR_PRESENT
            out += struct.pack(f"<{len(self.rr_intervals_1024)}H", *self.rr_intervals_1024)
        return bytes([flags]) + bytes(out)
