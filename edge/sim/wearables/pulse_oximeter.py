"""A pulse oximeter (Pulse Oximeter Service): SpO2 and pulse rate once a second, a spot check
every `interval_s`; nothing valid while the probe is off the finger."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.plx_continuous_measurement import PlxContinuousMeasurement
from edge.gatt.plx_features import PlxFeatures, PlxSupportedFeatures
from edge.gatt.plx_spot_check_measurement import PlxSpotCheckMeasurement
from edge.sim.peripheral import Characteristic, Service
from edge.sim.physiology import Patient
from edge.sim.wearables.base import DeviceSpec, Every, Value, Wearable


class PulseOximeter(Wearable):
    profile: ClassVar[str] = "generic_pulse_oximeter"
    model: ClassVar[str] = "PLX"
    advertised_services: ClassVar[tuple[str, ...]] = ("1822",)
    default_interval_s: ClassVar[float] = 300.0

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        super().__init__(spec, patient, epoch)
        self._continuous = Every(1.0, first_s=1.0)

    def services(self) -> Sequence[Service]:
        features = PlxFeatures(PlxSupportedFeatures(0)).to_bytes()
        return [Service("1822", [
            Characteristic(PlxFeatures.UUID, ["read"], features),
            Characteristic(PlxSpotCheckMeasurement.UUID, ["indicate"]),
            Characteristic(PlxContinuousMeasurement.UUID, ["notify"]),
        ])]

    def _reading(self, t: float) -> tuple[float | None, float | None]:
        if self.patient.off_body(t):
            return None, None
        return round(self.patient.spo2_at(t)), round(self.patient.heart_rate_at(t))

    def values_until(self, t: float) -> list[Value]:
        values = [(PlxContinuousMeasurement.UUID,
                   PlxContinuousMeasurement(*self._reading(tick)).to_bytes())
                  for tick in self._continuous.due(t)]
        values += [(PlxSpotCheckMeasurement.UUID,
                    PlxSpotCheckMeasurement(*self._reading(tick)).to_bytes())
                   for tick in self.readings.due(t)]
        return values
