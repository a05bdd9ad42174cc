"""Hypothesis strategies for every decoded value a simulator could encode."""

import enum
from typing import TypeVar

import numpy as np
from hypothesis import strategies as st

from edge.gatt import (
    BatteryLevel,
    BloodPressureMeasurement,
    BodySensorLocation,
    CgmMeasurement,
    CgmMeasurementRecords,
    CurrentTime,
    DateTime,
    GlucoseMeasurement,
    HeartRateMeasurement,
    IntermediateCuffPressure,
    IntermediateTemperature,
    PlxContinuousMeasurement,
    PlxFeatures,
    PlxSpotCheckMeasurement,
    PmdControlPointResponse,
    PmdDataFrame,
    PnpId,
    SystemId,
    TemperatureMeasurement,
)
from edge.gatt.blood_pressure_measurement import BloodPressureStatus
from edge.gatt.cgm_measurement import CgmCalTemp, CgmStatus, CgmWarning
from edge.gatt.codes import known_flags
from edge.gatt.current_time import AdjustReason
from edge.gatt.device_information import DEVICE_INFORMATION_STRINGS, DeviceInformationString
from edge.gatt.glucose_measurement import GlucoseSensorStatus
from edge.gatt.ieee11073 import decode_float, decode_sfloat
from edge.gatt.plx_features import PlxSupportedFeatures
from edge.gatt.plx_status import PlxDeviceAndSensorStatus, PlxMeasurementStatus
from edge.gatt.polar_pmd import PmdMeasurementType
from edge.gatt.polar_pmd_control_point import PmdOpCode, PmdSettingType, settings_bytes
from edge.gatt.units import GlucoseUnit, PressureUnit, TemperatureUnit

F = TypeVar("F", bound=enum.IntFlag)
T = TypeVar("T")

# Every value a medical float can hold, None for the specials.
sfloats = st.integers(0, 0xFFFF).map(decode_sfloat)
floats32 = st.integers(0, 0xFFFFFFFF).map(decode_float)
uint8 = st.integers(0, 0xFF)
uint16 = st.integers(0, 0xFFFF)


def flags(flag_type: type[F], bits: int) -> st.SearchStrategy[F]:
    return st.integers(0, (1 << bits) - 1).map(lambda raw: known_flags(flag_type, raw))


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


date_times = st.builds(
    DateTime,
    year=st.just(0) | st.integers(1582, 9999),
    month=st.integers(0, 12),
    day=st.integers(0, 28),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
)

heart_rate_measurements = st.builds(
    HeartRateMeasurement,
    heart_rate_bpm=uint16,
    sensor_contact=st.none() | st.booleans(),
    energy_expended_kj=optional(uint16),
    rr_intervals_1024=st.lists(uint16, max_size=9).map(tuple),
)


def _temperatures(codec: type[TemperatureMeasurement]) -> st.SearchStrategy[object]:
    return st.builds(codec, temperature=floats32, unit=st.sampled_from(TemperatureUnit),
                     time_stamp=optional(date_times), temperature_type=optional(uint8))


_pressure_record = {
    "unit": st.sampled_from(PressureUnit),
    "time_stamp": optional(date_times),
    "pulse_rate_bpm": sfloats,
    "user_id": optional(uint8),
    "measurement_status": optional(flags(BloodPressureStatus, 16)),
}


@st.composite
def glucose_measurements(draw: st.DrawFn) -> GlucoseMeasurement:
    unit = draw(st.none() | st.sampled_from(GlucoseUnit))
    sample = (None, None, None) if unit is None else (
        draw(sfloats), draw(st.integers(0, 15)), draw(st.integers(0, 15)))
    return GlucoseMeasurement(
        draw(uint16), draw(date_times), draw(optional(st.integers(-0x8000, 0x7FFF))),
        sample[0], unit, sample[1], sample[2],
        draw(optional(flags(GlucoseSensorStatus, 16))), draw(st.booleans()))


cgm_measurements = st.builds(
    CgmMeasurement,
    glucose_mg_per_dl=sfloats,
    time_offset_minutes=uint16,
    status=optional(flags(CgmStatus, 8)),
    cal_temp=optional(flags(CgmCalTemp, 8)),
    warning=optional(flags(CgmWarning, 8)),
    trend_mg_per_dl_per_min=sfloats,
    quality_percent=sfloats,
)

_plx_measurement_status = optional(flags(PlxMeasurementStatus, 16))
_plx_device_status = optional(flags(PlxDeviceAndSensorStatus, 24))


@st.composite
def plx_continuous_measurements(draw: st.DrawFn) -> PlxContinuousMeasurement:
    spo2, pulse_rate, spo2_fast, pulse_rate_fast, spo2_slow, pulse_rate_slow = (
        draw(sfloats) for _ in range(6))
    return PlxContinuousMeasurement(
        spo2, pulse_rate, spo2_fast, pulse_rate_fast, spo2_slow, pulse_rate_slow,
        draw(_plx_measurement_status), draw(_plx_device_status), draw(sfloats))


@st.composite
def plx_features(draw: st.DrawFn) -> PlxFeatures:
    measurement_support = draw(_plx_measurement_status)
    device_support = draw(_plx_device_status)
    features = draw(flags(PlxSupportedFeatures, 16)) & ~(
        PlxSupportedFeatures.MEASUREMENT_STATUS | PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS)
    if measurement_support is not None:
        features |= PlxSupportedFeatures.MEASUREMENT_STATUS
    if device_support is not None:
        features |= PlxSupportedFeatures.DEVICE_AND_SENSOR_STATUS
    return PlxFeatures(features, measurement_support, device_support)


def _device_strings(codec: type[DeviceInformationString]) -> st.SearchStrategy[object]:
    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
    return st.builds(codec, value=text.filter(lambda value: not value.endswith("\x00")))


_settings: st.SearchStrategy[dict[PmdSettingType, tuple[int, ...]]] = st.dictionaries(
    st.sampled_from([setting for setting in PmdSettingType if setting != PmdSettingType.FACTOR]),
    st.lists(st.integers(0, 0xFF), max_size=4).map(tuple),
)


@st.composite
def pmd_responses(draw: st.DrawFn) -> PmdControlPointResponse:
    op_code = draw(st.sampled_from(PmdOpCode))
    status = draw(st.integers(0, 14))
    more = draw(st.booleans())
    carries_settings = op_code in (1, 2, 4) and status == 0 and not more
    parameters = (settings_bytes(draw(_settings)) if carries_settings
                  else draw(st.binary(max_size=8)))
    return PmdControlPointResponse(op_code, draw(uint8), status, more, parameters)


# (measurement type, frame type, compressed) -> (channels, bits the samples may use)
_PMD_LAYOUTS = {
    (PmdMeasurementType.ECG, 0, False): (1, 24),
    (PmdMeasurementType.ECG, 0, True): (1, 24),
    (PmdMeasurementType.ACC, 0, False): (3, 8),
    (PmdMeasurementType.ACC, 1, False): (3, 16),
    (PmdMeasurementType.ACC, 2, False): (3, 24),
    (PmdMeasurementType.ACC, 0, True): (3, 16),
    (PmdMeasurementType.ACC, 1, True): (3, 16),
}


@st.composite
def pmd_frames(draw: st.DrawFn) -> PmdDataFrame:
    measurement_type, frame_type, compressed = key = draw(st.sampled_from(sorted(_PMD_LAYOUTS)))
    channels, bits = _PMD_LAYOUTS[key]
    limit = 1 << (bits - 1)
    count = draw(st.integers(1, 300 if compressed else 80))
    values = draw(st.lists(st.integers(-limit, limit - 1), min_size=count * channels,
                           max_size=count * channels))
    samples = np.array(values, dtype=np.int32)
    if channels > 1:
        samples = samples.reshape(count, channels)
    samples.flags.writeable = False
    return PmdDataFrame(measurement_type, draw(st.integers(0, 2**64 - 1)), frame_type, compressed,
                        samples)


ENCODABLE: dict[str, st.SearchStrategy[object]] = {
    "HeartRateMeasurement": heart_rate_measurements,
    "BodySensorLocation": st.builds(BodySensorLocation, location=uint8),
    "BatteryLevel": st.builds(BatteryLevel, percent=st.integers(0, 100)),
    "TemperatureMeasurement": _temperatures(TemperatureMeasurement),
    "IntermediateTemperature": _temperatures(IntermediateTemperature),
    "BloodPressureMeasurement": st.builds(
        BloodPressureMeasurement, systolic=sfloats, diastolic=sfloats,
        mean_arterial_pressure=sfloats, **_pressure_record),
    "IntermediateCuffPressure": st.builds(
        IntermediateCuffPressure, current_cuff_pressure=sfloats, **_pressure_record),
    "GlucoseMeasurement": glucose_measurements(),
    "CgmMeasurementRecords": st.lists(cgm_measurements, min_size=1, max_size=4).map(
        lambda records: CgmMeasurementRecords(tuple(records))),
    "PlxSpotCheckMeasurement": st.builds(
        PlxSpotCheckMeasurement, spo2_percent=sfloats, pulse_rate_bpm=sfloats,
        time_stamp=optional(date_times), measurement_status=_plx_measurement_status,
        device_and_sensor_status=_plx_device_status, pulse_amplitude_index_percent=sfloats,
        device_clock_not_set=st.booleans()),
    "PlxContinuousMeasurement": plx_continuous_measurements(),
    "PlxFeatures": plx_features(),
    **{codec.__name__: _device_strings(codec) for codec in DEVICE_INFORMATION_STRINGS},
    "SystemId": st.builds(SystemId, manufacturer_identifier=st.integers(0, 2**40 - 1),
                          organizationally_unique_identifier=st.integers(0, 2**24 - 1)),
    "PnpId": st.builds(PnpId, vendor_id_source=uint8, vendor_id=uint16, product_id=uint16,
                       product_version=uint16),
    "CurrentTime": st.builds(CurrentTime, date_time=date_times, day_of_week=st.integers(0, 7),
                             fractions256=uint8, adjust_reason=flags(AdjustReason, 8)),
    "DateTime": date_times,
    "PmdControlPointResponse": pmd_responses(),
    "PmdDataFrame": pmd_frames(),
}
