"""PLX Features (0x2A60), Pulse Oximeter Service 1.0, section 3.3."""

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import known_flags
from edge.gatt.plx_status import (
    PlxDeviceAndSensorStatus,
    PlxMeasurementStatus,
    device_and_sensor_status_bytes,
    measurement_status_bytes,
    read_device_and_sensor_status,
    read_measurement_status,
)
from edge.gatt.reader import FieldReader
from edge.gatt.uuids import sig_uuid


class PlxSupportedFeatures(enum.IntFlag):
    MEASUREMENT_STATUS = 1 << 0
    DEVICE_AND_SENSOR_STATUS = 1 << 1
    MEASUREMENT_STORAGE_FOR_SPOT_CHECK = 1 << 2
    TIMESTAMP_FOR_SPOT_CHECK = 1 << 3
    SPO2PR_FAST = 1 << 4
    SPO2PR_SLOW = 1 << 5
    PULSE_AMPLITUDE_INDEX = 1 << 6
    MULTIPLE_BONDS = 1 << 7


_PRESENCE_BITS = (PlxSupportedFeatures.MEASUREMENT_STATUS
                  | PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS)


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    UUID: ClassVar[str] = sig_uuid(0x2A60)
    NAME: ClassVar[str] = "PLX Features"

    supported_features: PlxSupportedFeatures
    # Present when the corresponding supported feature is; the encoder sets those two feature
    # bits from whether these are None.
    measurement_status_support: PlxMeasurementStatus | None = None
    device_and_sensor_status_support: PlxDeviceAndSensorStatus | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(cls.NAME, data)
        features = known_flags(PlxSupportedFeatures, reader.u16("supported features"))
        status = (read_measurement_status(reader, PlxSupportedFeatures.MEASUREMENT_STATUS)
                  if PlxSupportedFeatures.MEASUREMENT_STATUS in features else None)
        device_status = (
            read_device_and_sensor_status(reader, PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS)
            if PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS in features else None)
        reader.expect_end(f"the fields supported features 0x{features:04x} announce")
        return cls(features, status, device_status)

    def to_bytes(self) -> bytes:
        features = self.supported_features & ~_PRESENCE_BITS
        optional = b""
        if self.measurement_status_support is not None:
            features |= PlxSupportedFeatures.MEASUREMENT_STATUS
            optional += measurement_status_bytes(self.measurement_status_support)
        if self.device_and_sensor_status_support is not None:
            features |= PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS
            optional += device_and_sensor_status_bytes(self.device_and_sensor_status_support)
        return struct.pack("<H", features) + optional
