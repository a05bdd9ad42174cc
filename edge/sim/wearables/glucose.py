"""Glucose: a meter (Glucose Service) that reports a finger-stick reading every `interval_s`,
and a continuous monitor (CGM Service) that reports every five minutes of its session."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.cgm_measurement import CgmMeasurement
from edge.gatt.glucose_measurement import GlucoseMeasurement
from edge.gatt.units import GlucoseUnit
from edge.sim.peripheral import Characteristic, Service
from edge.sim.physiology import Patient
from edge.sim.wearables.base import DeviceSpec, Value, Wearable

_MG_DL_PER_KG_L = 1e5  # the Glucose Service sends kg/L
_CAPILLARY_WHOLE_BLOOD = 1
_FINGER = 1


class GlucoseMeter(Wearable):
    profile: ClassVar[str] = "generic_glucose_meter"
    model: ClassVar[str] = "GLM"
    advertised_services: ClassVar[tuple[str, ...]] = ("1808",)
    default_interval_s: ClassVar[float] = 3600.0

    first_reading_s: ClassVar[float | None] = 15.0

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        super().__init__(spec, patient, epoch)
        self._sequence = 0

    def services(self) -> Sequence[Service]:
        return [Service("1808", [
            Characteristic(GlucoseMeasurement.UUID, ["notify"]),
            Characteristic("2a51", ["read"], b"\x00\x00"),  # Glucose Feature
            Characteristic("2a52", ["write", "indicate"]),  # Record Access Control Point
        ])]

    def values_until(self, t: float) -> list[Value]:
        values = []
        for tick in self.readings.due(t):
            self._sequence = (self._sequence + 1) % 0x10000
            values.append((GlucoseMeasurement.UUID, GlucoseMeasurement(
                self._sequence, self.device_time(tick), None,
                round(self.patient.glucose_at(tick)) / _MG_DL_PER_KG_L, GlucoseUnit.KG_PER_L,
                _CAPILLARY_WHOLE_BLOOD, _FINGER).to_bytes()))
        return values


class ContinuousGlucoseMonitor(Wearable):
    profile: ClassVar[str] = "generic_cgm"
    model: ClassVar[str] = "CGM"
    advertised_services: ClassVar[tuple[str, ...]] = ("181f",)
    default_interval_s: ClassVar[float] = 300.0

    def services(self) -> Sequence[Service]:
        return [Service("181f", [Characteristic(CgmMeasurement.UUID, ["notify"])])]

    def values_until(self, t: float) -> list[Value]:
        return [(CgmMeasurement.UUID, CgmMeasurement(
            round(self.patient.glucose_at(tick)), round(tick / 60)).to_bytes())
            for tick in self.readings.due(t)]
