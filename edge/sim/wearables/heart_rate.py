"""A heart-rate strap (Heart Rate Service): once a second, the heart rate and the RR intervals of
the beats since the previous notification; skin contact lost when it is off the body."""

from collections.abc import Sequence
from typing import ClassVar

from edge.gatt.body_sensor_location import BodySensorLocation
from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.sim.peripheral import Characteristic, Service
from edge.sim.physiology import Patient
from edge.sim.wearables.base import DeviceSpec, Value, Wearable

_RR_UNITS_PER_SECOND = 1024
_CHEST = 1


class HeartRateStrap(Wearable):
    profile: ClassVar[str] = "generic_heart_rate"
    model: ClassVar[str] = "HRM"
    advertised_services: ClassVar[tuple[str, ...]] = ("180d",)

    def __init__(self, spec: DeviceSpec, patient: Patient, epoch: float) -> None:
        self._last_packet_s = 0.0
        super().__init__(spec, patient, epoch)

    def services(self) -> Sequence[Service]:
        return [Service("180d", [
            Characteristic(HeartRateMeasurement.UUID, ["notify"]),
            Characteristic(BodySensorLocation.UUID, ["read"],
                           BodySensorLocation(_CHEST).to_bytes()),
        ])]

    def values_until(self, t: float) -> list[Value]:
        return [(HeartRateMeasurement.UUID, self.heart_rate_packet(tick))
                for tick in self.readings.due(t)]

    def rr_intervals_s(self, start: float, end: float) -> list[float]:
        """The RR interval of each beat with start <= t < end."""
        return [beat.rr_s for beat in self.patient.beats_between(start, end)]

    def heart_rate_packet(self, t: float) -> bytes:
        rr_s = self.rr_intervals_s(self._last_packet_s, t)
        self._last_packet_s = t
        if self.patient.off_body(t):
            return HeartRateMeasurement(0, False, None, ()).to_bytes()
        rr = tuple(min(0xFFFF, round(r * _RR_UNITS_PER_SECOND)) for r in rr_s)
        bpm = 60 * len(rr_s) / sum(rr_s) if rr_s else self.patient.heart_rate_at(t)
        return HeartRateMeasurement(min(255, round(bpm)), True, None, rr).to_bytes()
