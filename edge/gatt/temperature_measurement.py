"""Temperature Measurement (0x2A1C) and Intermediate Temperature (0x2A1E), Health Thermometer
Service 1.0, sections 3.1 and 3.3: the same layout, the first indicated, the second notified."""

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import code_name
from edge.gatt.date_time import DateTime, read_date_time
from edge.gatt.ieee11073 import encode_float
from edge.gatt.reader import FieldReader, flags_announce
from edge.gatt.units import TemperatureUnit, to_celsius
from edge.gatt.uuids import sig_uuid

_FAHRENHEIT = 0x01
_TIME_STAMP_PRESENT = 0x02
_TYPE_PRESENT = 0x04
TEMPERATURE_TYPES = {1: "armpit", 2: "body", 3: "ear", 4: "finger", 5: "gastrointestinal_tract",
                     6: "mouth", 7: "rectum", 8: "toe", 9: "tympanum"}


@dataclass(frozen=True, slots=True)
class TemperatureMeasurement:
    UUID: ClassVar[str] = sig_uuid(0x2A1C)
    NAME: ClassVar[str] = "Temperature Measurement"
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("temperature_celsius", "temperature_type_name")

    # In `unit`; None when the thermometer sent NaN or another special value.
    temperature: float | None
    unit: TemperatureUnit = TemperatureUnit.CELSIUS
    time_stamp: DateTime | None = None
    # Codes 0 and 10..255 are reserved for future use and kept as sent.
    temperature_type: int | None = None

    @property
    def temperature_celsius(self) -> float | None:
        return to_celsius(self.temperature, self.unit)

    @property
    def temperature_type_name(self) -> str | None:
        return code_name(TEMPERATURE_TYPES, self.temperature_type)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(cls.NAME, data)
        flags = reader.u8("flags")
        temperature = reader.float32("temperature")
        time_stamp = (read_date_time(reader, "time stamp", _TIME_STAMP_PRESENT)
                      if flags & _TIME_STAMP_PRESENT else None)
        temperature_type = (reader.u8("temperature type", _TYPE_PRESENT)
                            if flags & _TYPE_PRESENT else None)
        reader.expect_end(flags_announce(flags))
        unit = TemperatureUnit.FAHRENHEIT if flags & _FAHRENHEIT else TemperatureUnit.CELSIUS
        return cls(temperature, unit, time_stamp, temperature_type)

    def to_bytes(self) -> bytes:
        flags = _FAHRENHEIT if self.unit is TemperatureUnit.FAHRENHEIT else 0
        out = bytearray(struct.pack("<I", encode_float(self.temperature)))
        if self.time_stamp is not None:
            flags |= _TIME_STAMP_PRESENT
            out += self.time_stamp.to_bytes()
        if self.temperature_type is not None:
            flags |= _TYPE_PRESENT
            out.append(self.temperature_type)
        return bytes([flags]) + bytes(out)


@dataclass(frozen=True, slots=True)
class IntermediateTemperature(TemperatureMeasurement):
    UUID: ClassVar[str] = sig_uuid(0x2A1E)
    NAME: ClassVar[str] = "Intermediate Temperature"
