"""The pure heart of the gateway: notifications in, messages out. No I/O, no asyncio.

decode (edge.gatt) -> signals (edge.signals) -> detect (edge.detect) -> messages (edge.messages)
"""

import logging
from dataclasses import dataclass, field

from edge.config import Config, DeviceSettings
from edge.detect.threshold import HeartRateLimits, ThresholdDetector, ThresholdEvent
from edge.gatt import DecodeError, HeartRateMeasurement, PmdDataFrame, decode
from edge.gatt.polar_pmd import POLAR_EPOCH
from edge.link.notification import Notification
from edge.messages.payloads import (
    OutgoingMessage,
    event_message,
    gap_message,
    summary_message,
)
from edge.metrics import Counters
from edge.ratelimit import RateLimitedLog
from edge.signals.gaps import FrameGapDetector
from edge.signals.heart_rate import (
    HeartRateSummarizer,
    HeartRateSummary,
    sample_from_measurement,
)

log = logging.getLogger(__name__)

# A heart-rate strap notifies once a second.
_HEART_RATE_RATE_HZ = 1.0
_ERROR_LOG_INTERVAL_S = 60.0


@dataclass(slots=True)
class _DeviceChannel:
    settings: DeviceSettings
    summarizer: HeartRateSummarizer
    detector: ThresholdDetector
    frame_gaps: dict[str, FrameGapDetector] = field(default_factory=dict)


class Pipeline:
    def __init__(self, config: Config, counters: Counters) -> None:
        self._gateway_id = config.gateway.id
        self._counters = counters
        self._errors = RateLimitedLog(log, _ERROR_LOG_INTERVAL_S)
        limits = config.detect.heart_rate
        self._channels = {
            device.id: _DeviceChannel(
                device,
                HeartRateSummarizer(device.id, config.summary.period_s, _HEART_RATE_RATE_HZ),
                ThresholdDetector(device.id, HeartRateLimits(
                    limits.high_bpm, limits.low_bpm, limits.hysteresis_bpm,
                    limits.min_duration_s)),
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
        if isinstance(value, HeartRateMeasurement):
            return self._heart_rate(channel, notification, value)
        if isinstance(value, PmdDataFrame):
            return self._frame(channel, notification, value)
        return []

    def _heart_rate(self, channel: _DeviceChannel, notification: Notification,
                    value: HeartRateMeasurement) -> list[OutgoingMessage]:
        sample = sample_from_measurement(notification.device_id, notification.received_at, value)
        summaries = channel.summarizer.add(sample)
        events = channel.detector.update(sample.at, sample.bpm) if sample.in_contact else []
        return self._messages(channel, summaries, events, notification.received_at)

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
                  events: list[ThresholdEvent], now: float) -> list[OutgoingMessage]:
        patient = channel.settings.patient
        self._counters.summaries += len(summaries)
        self._counters.events += len(events)
        return [summary_message(self._gateway_id, patient, s, now) for s in summaries] + [
            event_message(self._gateway_id, patient, e, now) for e in events
        ]
