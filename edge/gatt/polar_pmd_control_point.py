"""Polar PMD control point (FB005C81-…): commands written to it and the responses it indicates.

A command is [op code, measurement type, settings...]; the settings are type-length-value:
[setting type, count, count values of the setting's size], e.g. ECG at 130 Hz, 14 bit:
02 00 | 00 01 82 00 | 01 01 0E 00. A response is [0xF0, op code, measurement type, status,
more frames, parameters...]; a "get settings" response lists the available values per setting.
"""

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from edge.gatt.codes import code_name
from edge.gatt.polar_pmd import PMD_CONTROL_POINT_UUID, measurement_type_name
from edge.gatt.reader import FieldReader

_NAME = "Polar PMD Control Point"
_RESPONSE_CODE = 0xF0
_HEADER_SIZE = 5


class PmdOpCode(enum.IntEnum):
    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 7
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 8
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 9


class PmdStatus(enum.IntEnum):
    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


class PmdSettingType(enum.IntEnum):
    SAMPLE_RATE = 0  # Hz
    RESOLUTION = 1  # bits
    RANGE = 2  # e.g. ±G for the accelerometer
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5  # float32 a sample is multiplied by; sent by the sensor only


# The struct format of one value of each setting (the SDK reads RANGE_MILLIUNIT as signed).
_SETTING_FORMATS = {
    PmdSettingType.SAMPLE_RATE: struct.Struct("<H"),
    PmdSettingType.RESOLUTION: struct.Struct("<H"),
    PmdSettingType.RANGE: struct.Struct("<H"),
    PmdSettingType.RANGE_MILLIUNIT: struct.Struct("<i"),
    PmdSettingType.CHANNELS: struct.Struct("<B"),
    PmdSettingType.FACTOR: struct.Struct("<f"),
}
# Responses whose parameters are settings, when complete (more frames clear).
_SETTINGS_RESPONSES = frozenset({PmdOpCode.GET_MEASUREMENT_SETTINGS,
                                 PmdOpCode.REQUEST_MEASUREMENT_START,
                                 PmdOpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS})
_OP_CODE_NAMES = {member.value: member.name.lower() for member in PmdOpCode}
_STATUS_NAMES = {member.value: member.name.lower() for member in PmdStatus}

Settings = Mapping[PmdSettingType, tuple[float, ...]]


def get_measurement_settings(measurement_type: int) -> bytes:
    return bytes([PmdOpCode.GET_MEASUREMENT_SETTINGS, measurement_type])


def start_measurement(measurement_type: int, settings: Mapping[PmdSettingType, int]) -> bytes:
    """The start command, settings in ascending setting type order, one value each."""
    if PmdSettingType.FACTOR in settings:
        raise ValueError("the factor is reported by the sensor, not requested")
    command = bytearray([PmdOpCode.REQUEST_MEASUREMENT_START, measurement_type])
    for setting in sorted(settings):
        command += bytes([setting, 1]) + _SETTING_FORMATS[setting].pack(settings[setting])
    return bytes(command)


def stop_measurement(measurement_type: int) -> bytes:
    return bytes([PmdOpCode.STOP_MEASUREMENT, measurement_type])


def settings_bytes(settings: Settings) -> bytes:
    """The type-length-value form of settings, as in a "get settings" response."""
    out = bytearray()
    for setting in sorted(settings):
        values = settings[setting]
        out += bytes([setting, len(values)])
        for value in values:
            out += _SETTING_FORMATS[setting].pack(value)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class PmdControlPointResponse:
    UUID: ClassVar[str] = PMD_CONTROL_POINT_UUID
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = (
        "op_code_name", "measurement_type_name", "status_name", "settings")

    op_code: int
    measurement_type: int
    status: int
    more_frames: bool = False
    parameters: bytes = b""

    @property
    def op_code_name(self) -> str | None:
        return code_name(_OP_CODE_NAMES, self.op_code)

    @property
    def measurement_type_name(self) -> str | None:
        return measurement_type_name(self.measurement_type)

    @property
    def status_name(self) -> str | None:
        return code_name(_STATUS_NAMES, self.status)

    @property
    def settings(self) -> Settings | None:
        """The settings in the parameters of a complete, successful settings or start response."""
        if (self.op_code not in _SETTINGS_RESPONSES or self.status != PmdStatus.SUCCESS
                or self.more_frames):
            return None
        return parse_settings(FieldReader(_NAME, self.to_bytes(), _HEADER_SIZE))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        reader = FieldReader(_NAME, data)
        response_code = reader.u8("response code")
        if response_code != _RESPONSE_CODE:
            raise reader.error(f"response code: 0x{response_code:02x} is not a response (0xf0)")
        op_code = reader.u8("op code")
        measurement_type = reader.u8("measurement type")
        status = reader.u8("status")
        more = reader.u8("more frames") if reader.remaining else 0
        if more > 1:
            raise reader.error(f"more frames: {more} is neither 0 nor 1")
        value = cls(op_code, measurement_type, status, bool(more), reader.rest())
        _ = value.settings  # reject malformed settings now, not when they are used
        return value

    def to_bytes(self) -> bytes:
        return bytes([_RESPONSE_CODE, self.op_code, self.measurement_type, self.status,
                      self.more_frames]) + self.parameters


def parse_settings(reader: FieldReader) -> Settings:
    """Type-length-value settings, up to the end of the packet."""
    settings: dict[PmdSettingType, tuple[float, ...]] = {}
    while reader.remaining:
        position = reader.position
        code = reader.u8("setting type")
        if code not in _SETTING_FORMATS:
            raise reader.error(f"setting type: 0x{code:02x} at byte {position} is unknown")
        setting = PmdSettingType(code)
        count = reader.u8(f"{setting.name.lower()} count")
        value_format = _SETTING_FORMATS[setting]
        values = reader.take(count * value_format.size, f"{setting.name.lower()} values")
        settings[setting] = tuple(value for (value,) in value_format.iter_unpack(values))
    return settings
