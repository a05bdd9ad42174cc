"""Virtual wearables, one per device profile the gateway ships, each encoding its values exactly
as the real characteristic does (with the gateway's own `to_bytes`)."""

from edge.sim.physiology import Patient
from edge.sim.wearables.base import DeviceSpec, Value, Wearable
from edge.sim.wearables.blood_pressure import BloodPressureCuff
from edge.sim.wearables.glucose import ContinuousGlucoseMonitor, GlucoseMeter
from edge.sim.wearables.heart_rate import HeartRateStrap
from edge.sim.wearables.polar_h10 import PolarH10
from edge.sim.wearables.pulse_oximeter import PulseOximeter
from edge.sim.wearables.thermometer import Thermometer

WEARABLES: dict[str, type[Wearable]] = {kind.profile: kind for kind in (
    HeartRateStrap, PolarH10, PulseOximeter, Thermometer, BloodPressureCuff, GlucoseMeter,
    ContinuousGlucoseMonitor)}


def make_wearable(spec: DeviceSpec, patient: Patient, epoch: float) -> Wearable:
    return WEARABLES[spec.profile](spec, patient, epoch)


__all__ = ["WEARABLES", "DeviceSpec", "Value", "Wearable", "make_wearable"]
