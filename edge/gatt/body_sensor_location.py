"""Body Sensor Location (0x2A38), Heart Rate Service 1.0, section 3.2."""

from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import code_name
from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "Body Sensor Location"
LOCATIONS = {0: "other", 1: "chest", 2: "wrist", 3: "finger", 4: "hand", 5: "ear_lobe", 6: "foot"}


@dataclass(frozen=True, slots=True)
class BodySensorLocation:
    UUID: ClassVar[str] = sig_uuid(0x2A38)
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("location_name",)

    # Codes 7..255 are reserved for future use and kept as sent.
    location: int

    @property
    def location_name(self) -> str | None:
        return code_name(LOCATIONS, self.location)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        location = reader.u8("body sensor location")
        reader.expect_end("the 1-byte body sensor location")
        return cls(location)

    def to_bytes(self) -> bytes:
        return bytes([self.location])
