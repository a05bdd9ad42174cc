"""PnP ID (0x2A50), Device Information Service 1.1, section 3.9."""

import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import code_name
from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid

_NAME = "PnP ID"
_FIELDS = struct.Struct("<BHHH")
VENDOR_ID_SOURCES = {1: "bluetooth_sig", 2: "usb_implementers_forum"}


@dataclass(frozen=True, slots=True)
class PnpId:
    UUID: ClassVar[str] = sig_uuid(0x2A50)
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("vendor_id_source_name",)

    # 1: Bluetooth SIG company identifier, 2: USB-IF vendor id; others are reserved.
    vendor_id_source: int
    vendor_id: int
    product_id: int
    product_version: int

    @property
    def vendor_id_source_name(self) -> str | None:
        return code_name(VENDOR_ID_SOURCES, self.vendor_id_source)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        value = cls(reader.u8("vendor id source"), reader.u16("vendor id"),
                    reader.u16("product id"), reader.u16("product version"))
        reader.expect_end("the 7-byte pnp id")
        return value

    def to_bytes(self) -> bytes:
        return _FIELDS.pack(self.vendor_id_source, self.vendor_id, self.product_id,
                            self.product_version)
