"""Pure codecs for GATT characteristics: bytes in, dataclasses out. No I/O."""

import functools
from typing import ClassVar, Protocol, Self

from edge.gatt.battery_level import BatteryLevel
from edge.gatt.blood_pressure_measurement import BloodPressureMeasurement, BloodPressureStatus
from edge.gatt.body_sensor_location import BodySensorLocation
from edge.gatt.cgm_measurement import CgmMeasurement, CgmMeasurementRecords
from edge.gatt.current_time import CurrentTime
from edge.gatt.date_time import DateTime
from edge.gatt.device_information import DEVICE_INFORMATION_STRINGS
from edge.gatt.errors import DecodeError
from edge.gatt.glucose_measurement import GlucoseMeasurement
from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.gatt.intermediate_cuff_pressure import IntermediateCuffPressure
from edge.gatt.jsonable import to_json
from edge.gatt.plx_continuous_measurement import PlxContinuousMeasurement
from edge.gatt.plx_features import PlxFeatures
from edge.gatt.plx_spot_check_measurement import PlxSpotCheckMeasurement
from edge.gatt.pnp_id import PnpId
from edge.gatt.polar_pmd_control_point import PmdControlPointResponse
from edge.gatt.polar_pmd_data import PmdDataFrame
from edge.gatt.system_id import SystemId
from edge.gatt.temperature_measurement import IntermediateTemperature, TemperatureMeasurement
from edge.gatt.uuids import normalize_uuid


class Characteristic(Protocol):
    UUID: ClassVar[str]
    NAME: ClassVar[str]

    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...


# CGM Measurement decodes without the E2E-CRC here; a collector whose sensor's CGM Feature
# announces it calls CgmMeasurement.from_bytes_many(data, e2e_crc=True).
_CODECS: tuple[type[Characteristic], ...] = (
    HeartRateMeasurement, BodySensorLocation, BatteryLevel,
    TemperatureMeasurement, IntermediateTemperature,
    BloodPressureMeasurement, IntermediateCuffPressure,
    GlucoseMeasurement, CgmMeasurementRecords,
    PlxSpotCheckMeasurement, PlxContinuousMeasurement, PlxFeatures,
    *DEVICE_INFORMATION_STRINGS, SystemId, PnpId,
    CurrentTime, DateTime,
    PmdControlPointResponse, PmdDataFrame,
)
DECODERS: dict[str, type[Characteristic]] = {codec.UUID: codec for codec in _CODECS}


# A link names a handful of characteristics, each in one spelling; normalising it costs more
# than decoding a heart rate packet.
_normalized = functools.lru_cache(maxsize=256)(normalize_uuid)


def decode(uuid: str, data: bytes) -> Characteristic:
    """Decode a characteristic value; raises DecodeError for bad bytes or an unknown UUID."""
    try:
        key = _normalized(uuid)
    except ValueError as error:
        raise DecodeError(uuid, "not a Bluetooth UUID") from error
    codec = DECODERS.get(key)
    if codec is None:
        raise DecodeError(uuid, "no decoder for this characteristic")
    return codec.from_bytes(data)


__all__ = [
    "DECODERS",
    "BatteryLevel",
    "BloodPressureMeasurement",
    "BloodPressureStatus",
    "BodySensorLocation",
    "CgmMeasurement",
    "CgmMeasurementRecords",
    "Characteristic",
    "CurrentTime",
    "DateTime",
    "DecodeError",
    "GlucoseMeasurement",
    "HeartRateMeasurement",
    "IntermediateCuffPressure",
    "IntermediateTemperature",
    "PlxContinuousMeasurement",
    "PlxFeatures",
    "PlxSpotCheckMeasurement",
    "PmdControlPointResponse",
    "PmdDataFrame",
    "PnpId",
    "SystemId",
    "TemperatureMeasurement",
    "decode",
    "to_json",
]
