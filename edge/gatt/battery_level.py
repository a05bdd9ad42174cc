"""Battery Level (0x2A19), Battery Service 1.0, section 3.1."""

from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "Battery Level"
_FULL = 100


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    UUID: ClassVar[str] = sig_uuid(0x2A19)
    NAME: ClassVar[str] = _NAME

    percent: int

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        percent = reader.u8("battery level")
        reader.expect_end("the 1-byte battery level")
        if percent > _FULL:
            raise reader.error(f"battery level: {percent} % is above {_FULL} %")
        return cls(percent)

    def to_bytes(self) -> bytes:
        return bytes([self.percent])
