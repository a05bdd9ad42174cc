"""The UTF-8 string characteristics of the Device Information Service 1.1, section 3."""

from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.errors import DecodeError
from edge.gatt.uuids import sig_uuid


@dataclass(frozen=True, slots=True)
class DeviceInformationString:
    """A UTF-8 string; trailing NULs (some devices pad with them) are dropped."""

    UUID: ClassVar[str]
    NAME: ClassVar[str]

    value: str

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        try:
            text = data.rstrip(b"\x00").decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecodeError(cls.NAME, f"not UTF-8: byte 0x{data[error.start]:02x} at offset "
                              f"{error.start} ({error.reason})") from error
        return cls(text)

    def to_bytes(self) -> bytes:
        return self.value.encode("utf-8")


@dataclass(frozen=True, slots=True)
class ManufacturerName(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A29)
    NAME: ClassVar[str] = "Manufacturer Name String"


@dataclass(frozen=True, slots=True)
class ModelNumber(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A24)
    NAME: ClassVar[str] = "Model Number String"


@dataclass(frozen=True, slots=True)
class SerialNumber(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A25)
    NAME: ClassVar[str] = "Serial Number String"


@dataclass(frozen=True, slots=True)
class HardwareRevision(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A27)
    NAME: ClassVar[str] = "Hardware Revision String"


@dataclass(frozen=True, slots=True)
class FirmwareRevision(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A26)
    NAME: ClassVar[str] = "Firmware Revision String"


@dataclass(frozen=True, slots=True)
class SoftwareRevision(DeviceInformationString):
    UUID: ClassVar[str] = sig_uuid(0x2A28)
    NAME: ClassVar[str] = "Software Revision String"


DEVICE_INFORMATION_STRINGS: tuple[type[DeviceInformationString], ...] = (
    ManufacturerName, ModelNumber, SerialNumber, HardwareRevision, FirmwareRevision,
    SoftwareRevision)
