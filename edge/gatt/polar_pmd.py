"""Polar Measurement Data (PMD) service: UUIDs and codes shared by its two characteristics.

Layouts as the official polar-ble-sdk reads them (polarofficial/polar-ble-sdk,
sources/Android/android-communications/.../gatt/client/pmd/).
"""

import datetime as dt
import enum

from edge.gatt.codes import code_name

PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
# Data frame time stamps count nanoseconds from here.
POLAR_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class PmdMeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMPERATURE = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14
    OFFLINE_TEMPERATURE = 15


MEASUREMENT_TYPE_NAMES = {member.value: member.name.lower() for member in PmdMeasurementType}


def measurement_type_name(code: int) -> str | None:
    return code_name(MEASUREMENT_TYPE_NAMES, code)
