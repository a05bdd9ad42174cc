"""Heart Rate Measurement (0x2A37), Heart Rate Service 1.0, section 3.1."""

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Self

from edge.gatt.errors import DecodeError
from edge.gatt.uuids import sig_uuid

_UINT16_FORMAT = 0x01
_CONTACT_DETECTED = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY_PRESENT = 0x08
_RR_PRESENT = 0x10
_NAME = "Heart Rate Measurement"
_RR_UNITS_PER_SECOND = 1024
# A packet layout is checked once per (flags, length) and remembered; a strap sends few layouts.
_MAX_REMEMBERED_LAYOUTS = 1024


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A37)
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("rr_intervals_ms",)

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
        key = data[0] | len(data) << 8
        layout = _LAYOUTS.get(key)
        if layout is None:
            layout = _layout(data[0], len(data))
            if len(_LAYOUTS) < _MAX_REMEMBERED_LAYOUTS:
                _LAYOUTS[key] = layout
        unpack, contact, has_energy, rr_start = layout
        values = unpack(data)
        # The frozen dataclass __init__ costs half the decode; setting the slots directly is
        # what it does, without the per-field object.__setattr__ calls.
        value = _new(cls)
        _set_heart_rate(value, values[1])
        _set_contact(value, contact)
        _set_energy(value, values[2] if has_energy else None)
        _set_rr(value, values[rr_start:])
        return value

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


class _Layout(NamedTuple):
    # Unpacks the whole packet: flags, heart rate, [energy], RR intervals.
    unpack: Callable[[bytes], tuple[int, ...]]
    contact: bool | None
    has_energy: bool
    rr_start: int


def _layout(flags: int, length: int) -> _Layout:
    wide = flags & _UINT16_FORMAT
    offset = 3 if wide else 2
    if length < offset:
        raise DecodeError(_NAME, f"heart rate: flags 0x{flags:02x} announce "
                          f"{'uint16' if wide else 'uint8'} but packet has {length} bytes")
    has_energy = bool(flags & _ENERGY_PRESENT)
    if has_energy:
        if length < offset + 2:
            raise DecodeError(_NAME, f"energy expended: flag 0x08 set but only "
                              f"{length - offset} bytes remain, need 2")
        offset += 2
    remaining = length - offset
    if flags & _RR_PRESENT:
        if remaining == 0:
            raise DecodeError(_NAME, "RR interval: flag 0x10 set but no RR bytes follow")
        if remaining % 2:
            raise DecodeError(_NAME, f"RR interval: {remaining} bytes remain, "
                              "not a whole number of uint16 values")
    elif remaining:
        raise DecodeError(_NAME, f"{remaining} unexpected trailing bytes "
                          f"after the fields flags 0x{flags:02x} announce")
    layout = "<B" + ("H" if wide else "B") + ("H" if has_energy else "") + "H" * (remaining // 2)
    contact = bool(flags & _CONTACT_DETECTED) if flags & _CONTACT_SUPPORTED else None
    return _Layout(struct.Struct(layout).unpack, contact, has_energy, 3 if has_energy else 2)


def _slot_setter(name: str) -> Callable[[HeartRateMeasurement, Any], None]:
    setter: Callable[[HeartRateMeasurement, Any], None] = (
        HeartRateMeasurement.__dict__[name].__set__)
    return setter


_LAYOUTS: dict[int, _Layout] = {}
_new = object.__new__
_set_heart_rate = _slot_setter("heart_rate_bpm")
_set_contact = _slot_setter("sensor_contact")
_set_energy = _slot_setter("energy_expended_kj")
_set_rr = _slot_setter("rr_intervals_1024")
