"""The pure heart of the gateway: notifications in, messages out. No I/O, no asyncio.

decode (edge.gatt) -> signals (edge.signals) -> detect (edge.detect) -> messages (edge.messages)
"""

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge.config import Config, DetectSettings, DeviceSettings
from edge.detect.af import AfDetector, AfEvent, WindowClassifier
from edge.detect.baselines import DEFAULT_PARAMS, BaselineParams, BaselineStore, Vital
from edge.detect.vitals import (
    HEART_RATE,
    ClinicianLimits,
    DesaturationSettings,
    VitalEvent,
    VitalSignsMonitor,
    VitalSpec,
)
from edge.gatt import (
    BloodPressureMeasurement,
    DecodeError,
    HeartRateMeasurement,
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    PmdDataFrame,
    TemperatureMeasurement,
    decode,
)
from edge.gatt.polar_pmd import POLAR_EPOCH
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


@dataclass(frozen=True, slots=True)
class DetectorModels:
    """Loaded models, each None where the rule-based detector stands in."""

    af: WindowClassifier | None = None
    pvc: WindowClassifier | None = None


def _detector_name(model: WindowClassifier | None) -> dict[str, str]:
    name, version = getattr(model, "name", None), getattr(model, "version", None)
    if name is None or version is None:
        return {"name": "rules"}
    return {"name": str(name), "version": str(version)}


@dataclass(slots=True)
class _DeviceChannel:
    settings: DeviceSettings
    summarizer: HeartRateSummarizer
    vitals: VitalSignsMonitor
    rhythm: AfDetector
    beat_clock: BeatClock = field(default_factory=BeatClock)
    frame_gaps: dict[str, FrameGapDetector] = field(default_factory=dict)
    reports_spo2: bool = False


class Pipeline:
    def __init__(self, config: Config, counters: Counters, baselines: BaselineStore | None,
                 models: DetectorModels | None = None) -> None:
        models = models or DetectorModels()
        self._gateway_id = config.gateway.id
        self._af_detector = _detector_name(models.af)
        self._counters = counters
        self._errors = RateLimitedLog(log, _ERROR_LOG_INTERVAL_S)
        specs = _vital_specs(config.detect)
        desaturation = DesaturationSettings(
            min_duration_s=config.detect.desaturation.min_duration_s,
            odi_window_s=config.detect.desaturation.odi_window_s)
        self._channels = {
            device.id: _DeviceChannel(
                device,
                HeartRateSummarizer(device.id, config.summary.period_s, _HEART_RATE_RATE_HZ),
                VitalSignsMonitor(device.id, device.patient, baselines,
                                  ClinicianLimits(**dataclasses.asdict(device.limits)),
                                  specs, desaturation),
                AfDetector(models.af),
            )
            for device in config.devices
        }

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
                                 f"device {notification.device_id}: bad packet "
                                 f"{notification.payload.hex() or '(empty)'}: {error}")
            return []
        at = notification.received_at
        match value:
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
        rr_s = [rr_ms / 1000 for rr_ms in sample.rr_ms]
        events: list[AfEvent] = []
        for beat_at, rr in channel.beat_clock.beats(sample.at, rr_s):
            events += channel.rhythm.push(beat_at, rr)
        self._counters.events += len(events)
        return [rhythm_event_message(self._gateway_id, channel.settings.patient,
                                     channel.settings.id, event, "rr", self._af_detector,
                                     sample.at)
                for event in events]

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
        detector = channel.frame_gaps.setdefault(
            stream, FrameGapDetector(notification.device_id, stream))
        gap = detector.add(frame.timestamp_ns, len(frame.samples))
        if gap is None:
            return []
        self._counters.gaps += 1
        self._errors.warning(f"{notification.device_id}/gap", notification.received_at,
                             f"device {notification.device_id}: {gap.missing_samples} {stream} "
                             "samples missing")
        return [gap_message(self._gateway_id, channel.settings.patient, gap,
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
                            if channel.reports_spo2 else None)
            for summary in summaries
        ] + [event_message(self._gateway_id, patient, event, now) for event in events]
