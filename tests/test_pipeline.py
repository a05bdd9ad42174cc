import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from edge.config import Config, parse_config
from edge.gatt import (
    BloodPressureMeasurement,
    BloodPressureStatus,
    HeartRateMeasurement,
    IntermediateTemperature,
    PlxContinuousMeasurement,
    PmdDataFrame,
    TemperatureMeasurement,
)
from edge.gatt.plx_status import PlxMeasurementStatus
from edge.link.notification import Notification
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.pipeline import Pipeline

CONFIG: Config = parse_config({
    "gateway": {"id": "gw-1"},
    "summary": {"period_s": 10},
    "devices": [{"id": "strap-01", "patient": "patient-0001"}],
})
HRM = HeartRateMeasurement.UUID
ECG_SAMPLES = 73
ECG_PERIOD_NS = 1_000_000_000 // 130


def good(at: float, bpm: int = 70) -> Notification:
    return Notification("strap-01", HRM, HeartRateMeasurement(bpm, True, None, (880,)).to_bytes(),
                        at)


def test_good_packets_become_summaries_with_pseudonyms_only() -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    out = [m for second in range(11) for m in pipeline.handle(good(1000.0 + second))]
    (message,) = out
    assert message.topic == "edge/v1/gw-1/summary/strap-01"
    assert message.payload["device_id"] == "strap-01"
    assert message.payload["patient_id"] == "patient-0001"
    assert message.payload["sample_count"] == 10
    assert message.payload["heart_rate"]["mean"] == {"value": 70.0, "unit": "beats/min"}


@pytest.mark.parametrize("bad", [b"", b"\x01\x48", b"\x10\x48", b"\x10\x48\x00"])
def test_bad_packets_are_counted_and_later_good_packets_still_flow(bad: bytes) -> None:
    counters = Counters()
    pipeline = Pipeline(CONFIG, counters, None)
    pipeline.handle(good(1000.0))
    assert pipeline.handle(Notification("strap-01", HRM, bad, 1001.0)) == []
    for second in range(2, 10):
        pipeline.handle(good(1000.0 + second))
    (summary,) = pipeline.tick(1010.0)
    assert counters.decode_errors == 1
    assert counters.notifications == 10
    assert summary.payload["sample_count"] == 9


def test_decode_errors_are_logged_at_most_once_per_device_per_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    counters = Counters()
    pipeline = Pipeline(CONFIG, counters, None)
    caplog.set_level(logging.WARNING, logger="edge.pipeline")
    for second in range(0, 60, 5):
        pipeline.handle(Notification("strap-01", HRM, b"\x10\x48", 1000.0 + second))
    assert counters.decode_errors == 12
    (first,) = caplog.messages
    assert first == ("device strap-01: bad packet of 2 bytes: Heart Rate Measurement: RR interval: "
                     "flag 0x10 set but no RR bytes follow")
    pipeline.handle(Notification("strap-01", HRM, b"", 1061.0))
    assert caplog.messages[1] == (
        "device strap-01: bad packet of 0 bytes: Heart Rate Measurement: empty packet, expected at "
        "least flags and heart rate (11 more since the last report)")


def test_devices_outside_the_config_never_reach_the_pipeline() -> None:
    counters = Counters()
    pipeline = Pipeline(CONFIG, counters, None)
    for second in range(30):
        assert pipeline.handle(Notification("stranger", HRM, b"\x00\x48", 1000.0 + second)) == []
    assert pipeline.tick(2000.0) == []
    assert (counters.unknown_devices, counters.notifications) == (30, 0)


def test_tachycardia_becomes_an_event_message() -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    out = [m for second in range(30) for m in pipeline.handle(good(1000.0 + second, 150))]
    events = [m for m in out if m.stream == "event/strap-01"]
    (started,) = events
    assert started.payload["event_type"] == "tachycardia"
    assert started.payload["phase"] == "started"
    assert started.payload["extreme"] == {"value": 150.0, "unit": "beats/min"}


def ecg_frame(last_sample_ns: int, at: float) -> Notification:
    return Notification("strap-01", PmdDataFrame.UUID,
                        PmdDataFrame.ecg(last_sample_ns, [100] * ECG_SAMPLES).to_bytes(), at)


def test_a_dropped_ecg_frame_becomes_a_valid_data_gap_diagnostic(
        tmp_path: Path, validators: dict[str, Draft202012Validator]) -> None:
    counters = Counters()
    pipeline = Pipeline(CONFIG, counters, None)
    frame_ns = ECG_SAMPLES * ECG_PERIOD_NS
    ends = [(index + 1) * frame_ns for index in range(10)]
    del ends[6]
    out = [message for index, end in enumerate(ends)
           for message in pipeline.handle(ecg_frame(end, 1000.0 + index))]
    (gap,) = out
    assert gap.topic == "edge/v1/gw-1/diagnostic/strap-01"
    assert gap.payload["missing_samples"] == ECG_SAMPLES
    assert gap.payload["stream"] == "ecg"
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put(out)
    (stored,) = outbox.next_batch(10)
    payload = json.loads(stored.payload)
    assert [e.message for e in validators["diagnostic"].iter_errors(payload)] == []
    assert counters.gaps == 1


def stored_payloads(tmp_path: Path, messages: list[OutgoingMessage]) -> list[dict[str, Any]]:
    """The payloads as the outbox stores and publishes them, numbered in their stream."""
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put(messages)
    payloads = [json.loads(stored.payload) for stored in outbox.next_batch(1000)]
    outbox.close()
    return payloads


def assert_valid(validators: dict[str, Draft202012Validator], payload: dict[str, Any]) -> None:
    kind = payload["schema"].removeprefix("edge.")
    assert [e.message for e in validators[kind].iter_errors(payload)] == [], payload


def oximeter(at: float, spo2: float, status: PlxMeasurementStatus | None = None) -> Notification:
    measurement = PlxContinuousMeasurement(spo2, 62.0, measurement_status=status)
    return Notification("strap-01", PlxContinuousMeasurement.UUID, measurement.to_bytes(), at)


def test_an_oximeters_desaturation_is_an_event_and_its_odi_rides_on_the_summary(
        tmp_path: Path, validators: dict[str, Draft202012Validator]) -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    spo2 = [97.0] * 120 + [92.0] * 15 + [97.0] * 60
    out = [m for second, value in enumerate(spo2)
           for m in pipeline.handle(oximeter(1000.0 + second, value))]
    payloads = stored_payloads(tmp_path, out)
    for payload in payloads:
        assert_valid(validators, payload)
    events = [(p["event_type"], p["phase"]) for p in payloads if p["schema"] == "edge.event"]
    assert ("desaturation_4pct", "started") in events
    assert ("desaturation_3pct", "ended") in events
    summaries = [p for p in payloads if p["schema"] == "edge.summary"]
    assert summaries and all("oxygen_desaturation_index" in p for p in summaries)
    assert summaries[-1]["heart_rate"]["mean"] == {"value": 62.0, "unit": "beats/min"}


def test_spo2_the_oximeter_itself_flags_as_questionable_raises_nothing() -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    questionable = PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED
    spo2 = [(97.0, None)] * 120 + [(80.0, questionable)] * 60
    out = [m for second, (value, status) in enumerate(spo2)
           for m in pipeline.handle(oximeter(1000.0 + second, value, status))]
    assert [m for m in out if m.stream == "event/strap-01"] == []


def thermometer(at: float, celsius: float, final: bool = True) -> Notification:
    kind = TemperatureMeasurement if final else IntermediateTemperature
    return Notification("strap-01", kind.UUID, kind(celsius).to_bytes(), at)


def test_two_feverish_readings_make_a_fever_but_readings_in_progress_do_not() -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    in_progress = [m for minute in range(30)
                   for m in pipeline.handle(thermometer(1000.0 + 60 * minute, 39.0, False))]
    assert in_progress == []
    (fever,) = (pipeline.handle(thermometer(5000.0, 38.6))
                + pipeline.handle(thermometer(5600.0, 38.9)))
    assert (fever.payload["event_type"], fever.payload["phase"]) == ("fever", "started")
    assert fever.payload["extreme"] == {"value": 38.9, "unit": "Cel"}
    assert fever.payload["limit_source"] == "default"


def cuff(at: float, systolic: float, status: BloodPressureStatus | None = None) -> Notification:
    measurement = BloodPressureMeasurement(systolic, 80.0, 100.0, measurement_status=status)
    return Notification("strap-01", BloodPressureMeasurement.UUID, measurement.to_bytes(), at)


def test_a_cuff_reading_taken_while_moving_is_not_used_and_the_clinicians_limit_rules() -> None:
    config = parse_config({
        "gateway": {"id": "gw-1"},
        "devices": [{"id": "strap-01", "patient": "patient-0001",
                     "limits": {"systolic_high_mmhg": 150}}],
    })
    pipeline = Pipeline(config, Counters(), None)
    moving = BloodPressureStatus.BODY_MOVEMENT_DETECTED
    assert pipeline.handle(cuff(1000.0, 170.0, moving)) == []
    assert pipeline.handle(cuff(2000.0, 170.0, moving)) == []
    assert pipeline.handle(cuff(3000.0, 145.0)) + pipeline.handle(cuff(4000.0, 146.0)) == []
    (high,) = pipeline.handle(cuff(5000.0, 160.0)) + pipeline.handle(cuff(6000.0, 162.0))
    assert high.payload["event_type"] == "hypertension"
    assert high.payload["limit"] == {"value": 150.0, "unit": "mm[Hg]"}
    assert high.payload["limit_source"] == "clinician"


def strap_packets(rr_s: list[float], start: float = 1000.0) -> list[Notification]:
    """A strap's notifications: one a second, each with the RR intervals of the beats since
    the previous one, in 1/1024 s."""
    packets: list[Notification] = []
    pending: list[int] = []
    beat_at, second = start, start + 1
    for rr in rr_s:
        beat_at += rr
        while beat_at > second:
            packets.append(packet(second, pending))
            pending, second = [], second + 1
        pending.append(round(rr * 1024))
    return packets


def packet(at: float, rr_units: list[int]) -> Notification:
    bpm = round(60 * 1024 * len(rr_units) / sum(rr_units)) if rr_units else 70
    measurement = HeartRateMeasurement(bpm, True, None, tuple(rr_units))
    return Notification("strap-01", HRM, measurement.to_bytes(), at)


def rhythm_events(rr_s: list[float]) -> list[dict[str, Any]]:
    pipeline = Pipeline(CONFIG, Counters(), None)
    out = [m for notification in strap_packets(rr_s) for m in pipeline.handle(notification)]
    return [m.payload for m in out if m.payload.get("event_type") == "atrial_fibrillation"]


def test_irregular_rr_from_a_strap_becomes_an_af_episode_and_sinus_rhythm_does_not(
        tmp_path: Path, validators: dict[str, Draft202012Validator]) -> None:
    rng = np.random.default_rng(7)
    sinus = list(0.85 + 0.03 * np.sin(np.arange(300) / 3))
    fibrillation = list(rng.uniform(0.4, 1.1, 200))
    assert rhythm_events(sinus) == []
    events = rhythm_events(sinus[:100] + fibrillation + sinus[:150])
    assert {(e["source"], e["detector"]["name"]) for e in events} == {("rr", "rules")}
    assert [e["phase"] for e in events][::len(events) - 1] == ["started", "ended"]
    af_from, af_until = 1000.0 + sum(sinus[:100]), 1000.0 + sum(sinus[:100] + fibrillation)
    for event in events:
        onset = datetime.fromisoformat(event["onset_at"]).timestamp()
        assert af_from - 30 < onset < af_until, "an episode began outside the fibrillation"
        assert 0 < event["burden"]["value"] < 1
        assert_valid(validators, event | {"seq": 1})
