"""The pure heart of the gateway: notifications in, messages out. No I/O, no asyncio.

decode (edge.gatt) -> signals (edge.signals) -> detect (edge.detect) -> messages (edge.messages)
"""

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge.config import Config, DetectSettings, DeviceSettings
from edge.detect.af import AfDetector, AfEvent
from edge.detect.baselines import DEFAULT_PARAMS, BaselineParams, BaselineStore, Vital
from edge.detect.rhythm import EcgRhythm, EctopyCount, af_detector
from edge.detect.vitals import (
    HEART_RATE,
    ClinicianLimits,
    DesaturationSettings,
    VitalEvent,
    VitalSignsMonitor,
    VitalSpec,
)
from edge.detector_models import DetectorModels, detector
from edge.gatt import (
    BatteryLevel,
    BloodPressureMeasurement,
    DecodeError,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    PmdDataFrame,
    TemperatureMeasurement,
    decode,
)
from edge.gatt.polar_pmd import POLAR_EPOCH, PmdMeasurementType
from edge.link.notification import Notification
from edge.messages.payloads import (
    OutgoingMessage,
    event_message,
    gap_message,
    rhythm_event_message,
    summary_message,
)
from edge.metrics import Counters
from edge.ratelimit import RateLimitedLog
from edge.signals.beat_clock import BeatClock
from edge.signals.ecg_frames import EcgFrameStream
from edge.signals.gaps import FrameGapDetector
from edge.signals.heart_rate import (
    HeartRateSample,
    HeartRateSummarizer,
    HeartRateSummary,
    sample_from_measurement,
)
from edge.signals.vitals import (
    PlxMeasurement,
    final_temperature,
    trusted_blood_pressure,
    trusted_spo2,
)

log = logging.getLogger(__name__)

# A heart-rate strap, like an oximeter, notifies once a second.
_HEART_RATE_RATE_HZ = 1.0
_ERROR_LOG_INTERVAL_S = 60.0
_ECG_HOLD_S = 10.0


def baseline_params(settings: DetectSettings) -> Mapping[Vital, BaselineParams]:
    history = settings.baselines
    return {vital: dataclasses.replace(params, history_days=history.history_days,
                                       min_days=history.min_days)
            for vital, params in DEFAULT_PARAMS.items()}


def _vital_specs(settings: DetectSettings) -> Mapping[Vital, VitalSpec]:
    limits = settings.heart_rate
    high, low = HEART_RATE.rules
    heart_rate = dataclasses.replace(
        HEART_RATE, hysteresis=limits.hysteresis_bpm,
        confirmation=dataclasses.replace(HEART_RATE.confirmation,
                                         min_duration_s=limits.min_duration_s),
        rules=(dataclasses.replace(high, default=limits.high_bpm),
               dataclasses.replace(low, default=limits.low_bpm)))
    return {"heart_rate": heart_rate}


@dataclass(slots=True)
class _DeviceChannel:
    settings: DeviceSettings
    summarizer: HeartRateSummarizer
    vitals: VitalSignsMonitor
    rr_rhythm: AfDetector
    beat_clock: BeatClock = field(default_factory=BeatClock)
    frame_gaps: dict[str, FrameGapDetector] = field(default_factory=dict)
    reports_spo2: bool = False
    ecg_frames: EcgFrameStream = field(default_factory=EcgFrameStream)
    ecg_rhythm: EcgRhythm | None = None
    # While ECG flows, the rhythm is judged from it, not from the strap's RR intervals.
    ecg_until: float = 0.0
    ectopy: EctopyCount = field(default_factory=EctopyCount)
    last_data_at: float | None = None
    battery_percent: int | None = None


class Pipeline:
    def __init__(self, config: Config, counters: Counters, baselines: BaselineStore | None,
                 models: DetectorModels | None = None) -> None:
        self._models = models or DetectorModels()
        self._gateway_id = config.gateway.id
        self._counters = counters
        self._errors = RateLimitedLog(log, _ERROR_LOG_INTERVAL_S)
        self._specs = _vital_specs(config.detect)
        self._desaturation = DesaturationSettings(
            min_duration_s=config.detect.desaturation.min_duration_s,
            odi_window_s=config.detect.desaturation.odi_window_s)
        self._baselines = baselines
        self._channels = {
            device.id: _DeviceChannel(
                device,
                HeartRateSummarizer(device.id, config.summary.period_s, _HEART_RATE_RATE_HZ),
                self._vitals(device, ClinicianLimits(**dataclasses.asdict(device.limits))),
                af_detector(self._models.rhythm(ecg=False)),
            )
            for device in config.devices
        }

    def _vitals(self, device: DeviceSettings, limits: ClinicianLimits) -> VitalSignsMonitor:
        return VitalSignsMonitor(device.id, device.patient, self._baselines, limits,
                                 self._specs, self._desaturation)

    @property
    def device_ids(self) -> list[str]:
        return list(self._channels)

    def device_status(self) -> list[dict[str, Any]]:
        """Each device's last data time and battery: no measured value."""
        return [{"id": device_id, "last_data_at": channel.last_data_at,
                 "battery_percent": channel.battery_percent}
                for device_id, channel in self._channels.items()]

    def set_clinician_limits(self, device_id: str, limits: ClinicianLimits) -> None:
        """New limits for one device's patient, from now on (its vital-sign events start
        afresh: one under way is raised again if it persists)."""
        channel = self._channels[device_id]
        channel.vitals = self._vitals(channel.settings, limits)

    def use_models(self, models: DetectorModels) -> None:
        """Swap the detector models; every device's rhythm analysis starts afresh with them."""
        self._models = models
        for channel in self._channels.values():
            channel.rr_rhythm = af_detector(models.rhythm(ecg=False))
            channel.ecg_rhythm = None

    def handle(self, notification: Notification) -> list[OutgoingMessage]:
        channel = self._channels.get(notification.device_id)
        if channel is None:
            self._counters.unknown_devices += 1
            return []
        self._counters.notifications += 1
        try:
            value = decode(notification.characteristic, notification.payload)
        except DecodeError as error:
            self._counters.decode_errors += 1
            self._errors.warning(notification.device_id, notification.received_at,
                                 f"device {notification.device_id}: bad packet of "
                                 f"{len(notification.payload)} bytes: {error}")
            return []
        at = notification.received_at
        channel.last_data_at = at
        match value:
            case BatteryLevel():
                channel.battery_percent = value.percent
            case HeartRateMeasurement():
                sample = sample_from_measurement(notification.device_id, at, value)
                return self._heart_rate(channel, sample)
            case PmdDataFrame():
                return self._frame(channel, notification, value)
            case PlxContinuousMeasurement() | PlxSpotCheckMeasurement():
                return self._oximetry(channel, at, value)
            case TemperatureMeasurement():
                celsius = final_temperature(value)
                events = [] if celsius is None else channel.vitals.temperature(at, celsius)
                return self._messages(channel, [], events, at)
            case BloodPressureMeasurement():
                reading = trusted_blood_pressure(value)
                events = [] if reading is None else channel.vitals.blood_pressure(
                    at, reading.systolic_mmhg, reading.diastolic_mmhg)
                return self._messages(channel, [], events, at)
        return []

    def _heart_rate(self, channel: _DeviceChannel,
                    sample: HeartRateSample) -> list[OutgoingMessage]:
        summaries = channel.summarizer.add(sample)
        if not sample.in_contact:
            return self._messages(channel, summaries, [], sample.at)
        events = channel.vitals.heart_rate(sample.at, sample.bpm)
        return self._messages(channel, summaries, events, sample.at) + self._rhythm(
            channel, sample)

    def _rhythm(self, channel: _DeviceChannel,
                sample: HeartRateSample) -> list[OutgoingMessage]:
        if sample.at < channel.ecg_until:
            return []
        rr_s = [rr_ms / 1000 for rr_ms in sample.rr_ms]
        events: list[AfEvent] = []
        for beat_at, rr in channel.beat_clock.beats(sample.at, rr_s):
            events += channel.rr_rhythm.push(beat_at, rr)
        return self._rhythm_messages(channel, events, "rr", sample.at)

    def _rhythm_messages(self, channel: _DeviceChannel, events: list[AfEvent], source: str,
                         now: float) -> list[OutgoingMessage]:
        self._counters.events += len(events)
        model = self._models.af(ecg=source == "ecg")
        return [rhythm_event_message(self._gateway_id, channel.settings.patient,
                                     channel.settings.id, event, source, detector(model), now)
                for event in events]

    def _ecg(self, channel: _DeviceChannel, notification: Notification,
             frame: PmdDataFrame) -> list[OutgoingMessage]:
        at = notification.received_at
        channel.ecg_until = at + _ECG_HOLD_S
        events: list[AfEvent] = []
        for chunk in channel.ecg_frames.add(frame.timestamp_ns, frame.samples, at):
            if channel.ecg_rhythm is None:
                channel.ecg_rhythm = EcgRhythm(chunk.fs, chunk.start_s, self._models.rhythm(True))
            elif chunk.restarted:
                channel.ecg_rhythm.restart(chunk.start_s)
            update = channel.ecg_rhythm.push(chunk.samples_mv)
            channel.ectopy.add(update.beats)
            events += update.af_events
        return self._rhythm_messages(channel, events, "ecg", at)

    def _oximetry(self, channel: _DeviceChannel, at: float,
                  measurement: PlxMeasurement) -> list[OutgoingMessage]:
        """SpO2 feeds the oxygen events; the oximeter's pulse rate counts as heart rate."""
        spo2 = trusted_spo2(measurement)
        if spo2 is None:
            return []
        channel.reports_spo2 = True
        events = channel.vitals.spo2(at, spo2)
        pulse = measurement.pulse_rate_bpm
        if pulse is None:
            return self._messages(channel, [], events, at)
        sample = HeartRateSample(channel.settings.id, at, round(pulse), (), True)
        return self._heart_rate(channel, sample) + self._messages(channel, [], events, at)

    def _frame(self, channel: _DeviceChannel, notification: Notification,
               frame: PmdDataFrame) -> list[OutgoingMessage]:
        stream = frame.measurement_type_name or f"type-{frame.measurement_type}"
        gaps = channel.frame_gaps.setdefault(
            stream, FrameGapDetector(notification.device_id, stream))
        gap = gaps.add(frame.timestamp_ns, len(frame.samples))
        rhythm = (self._ecg(channel, notification, frame)
                  if frame.measurement_type == PmdMeasurementType.ECG else [])
        if gap is None:
            return rhythm
        self._counters.gaps += 1
        self._errors.warning(f"{notification.device_id}/gap", notification.received_at,
                             f"device {notification.device_id}: {gap.missing_samples} {stream} "
                             "samples missing")
        return [*rhythm, gap_message(self._gateway_id, channel.settings.patient, gap,
                                     POLAR_EPOCH.timestamp(), notification.received_at)]

    def tick(self, now: float) -> list[OutgoingMessage]:
        """Close the summary periods that have ended, whether or not data came."""
        out: list[OutgoingMessage] = []
        for channel in self._channels.values():
            out += self._messages(channel, channel.summarizer.close_until(now), [], now)
        return out

    def _messages(self, channel: _DeviceChannel, summaries: list[HeartRateSummary],
                  events: list[VitalEvent], now: float) -> list[OutgoingMessage]:
        patient = channel.settings.patient
        self._counters.summaries += len(summaries)
        self._counters.events += len(events)
        return [
            summary_message(self._gateway_id, patient, summary, now,
                            channel.vitals.oxygen_desaturation_index(summary.end)
                            if channel.reports_spo2 else None,
                            channel.ectopy.take(summary.start, summary.end))
            for summary in summaries
        ] + [event_message(self._gateway_id, patient, event, now) for event in events]
