"""Status fields shared by the Pulse Oximeter Service 1.0 characteristics (section 3)."""

import enum
import struct

from edge.gatt.codes import known_flags
from edge.gatt.ieee11073 import encode_sfloat
from edge.gatt.reader import FieldReader

_PAIR = struct.Struct("<HH")


class PlxMeasurementStatus(enum.IntFlag):
    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class PlxDeviceAndSensorStatus(enum.IntFlag):
    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NONPULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


def read_spo2_pulse_rate(
    reader: FieldReader, name: str, flag: int | None = None
) -> tuple[float | None, float | None]:
    """An SpO2 (%) and pulse rate (bpm) pair of SFLOATs."""
    return reader.sfloat(f"{name} SpO2", flag), reader.sfloat(f"{name} pulse rate", flag)


def spo2_pulse_rate_bytes(spo2: float | None, pulse_rate: float | None) -> bytes:
    return _PAIR.pack(encode_sfloat(spo2), encode_sfloat(pulse_rate))


def read_measurement_status(reader: FieldReader, flag: int | None) -> PlxMeasurementStatus:
    return known_flags(PlxMeasurementStatus, reader.u16("measurement status", flag))


def read_device_and_sensor_status(
    reader: FieldReader, flag: int | None
) -> PlxDeviceAndSensorStatus:
    return known_flags(PlxDeviceAndSensorStatus, reader.u24("device and sensor status", flag))


def measurement_status_bytes(status: PlxMeasurementStatus) -> bytes:
    return struct.pack("<H", status)


def device_and_sensor_status_bytes(status: PlxDeviceAndSensorStatus) -> bytes:
    return int(status).to_bytes(3, "little")
