"""Spot and continuous vital-sign readings from decoded measurements, only where the device
itself vouches for them. Pure."""

from dataclasses import dataclass

from edge.gatt import (
    BloodPressureMeasurement,
    BloodPressureStatus,
    IntermediateTemperature,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    TemperatureMeasurement,
)
from edge.gatt.plx_status import PlxDeviceAndSensorStatus, PlxMeasurementStatus

# An oximeter that says any of these has no SpO2 worth acting on.
_UNTRUSTED_PLX = (PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE
                  | PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED
                  | PlxMeasurementStatus.INVALID_MEASUREMENT_DETECTED
                  | PlxMeasurementStatus.CALIBRATION_ONGOING
                  | PlxMeasurementStatus.DATA_FOR_DEMONSTRATION
                  | PlxMeasurementStatus.DATA_FOR_TESTING)
_UNTRUSTED_SENSOR = (PlxDeviceAndSensorStatus.EQUIPMENT_MALFUNCTION_DETECTED
                     | PlxDeviceAndSensorStatus.SENSOR_UNCONNECTED_TO_USER
                     | PlxDeviceAndSensorStatus.SENSOR_DISPLACED
                     | PlxDeviceAndSensorStatus.SENSOR_MALFUNCTIONING
                     | PlxDeviceAndSensorStatus.SENSOR_DISCONNECTED)
# A cuff reading taken like this is not a valid blood pressure (home monitoring guidelines).
_UNTRUSTED_CUFF = (BloodPressureStatus.BODY_MOVEMENT_DETECTED
                   | BloodPressureStatus.CUFF_TOO_LOOSE
                   | BloodPressureStatus.IMPROPER_MEASUREMENT_POSITION)

PlxMeasurement = PlxContinuousMeasurement | PlxSpotCheckMeasurement


@dataclass(frozen=True, slots=True)
class BloodPressureReading:
    systolic_mmhg: float | None
    diastolic_mmhg: float | None


def trusted_spo2(measurement: PlxMeasurement) -> float | None:
    """SpO2 in %, or None when absent or flagged by the oximeter as unreliable."""
    measurement_status = measurement.measurement_status or PlxMeasurementStatus(0)
    sensor_status = measurement.device_and_sensor_status or PlxDeviceAndSensorStatus(0)
    if measurement_status & _UNTRUSTED_PLX or sensor_status & _UNTRUSTED_SENSOR:
        return None
    return measurement.spo2_percent


def final_temperature(measurement: TemperatureMeasurement) -> float | None:
    """Body temperature in °C; None for the readings a thermometer shows while it measures."""
    if isinstance(measurement, IntermediateTemperature):
        return None
    return measurement.temperature_celsius


def trusted_blood_pressure(measurement: BloodPressureMeasurement) -> BloodPressureReading | None:
    status = measurement.measurement_status or BloodPressureStatus(0)
    if status & _UNTRUSTED_CUFF:
        return None
    reading = BloodPressureReading(measurement.systolic_mmhg, measurement.diastolic_mmhg)
    return None if reading == BloodPressureReading(None, None) else reading
