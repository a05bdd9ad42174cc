"""System ID (0x2A23), Device Information Service 1.1, section 3.3."""

from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "System ID"
_MANUFACTURER_BYTES = 5
_OUI_BYTES = 3


@dataclass(frozen=True, slots=True)
class SystemId:
    UUID: ClassVar[str] = sig_uuid(0x2A23)
    NAME: ClassVar[str] = _NAME

    manufacturer_identifier: int  # 40 bits
    organizationally_unique_identifier: int  # 24 bits, the IEEE OUI

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        manufacturer = int.from_bytes(reader.take(_MANUFACTURER_BYTES, "manufacturer identifier"),
                                      "little")
        oui = reader.u24("organizationally unique identifier")
        reader.expect_end("the 8-byte system id")
        return cls(manufacturer, oui)

    def to_bytes(self) -> bytes:
        return (self.manufacturer_identifier.to_bytes(_MANUFACTURER_BYTES, "little")
                + self.organizationally_unique_identifier.to_bytes(_OUI_BYTES, "little"))
