"""Summaries and events as MQTT messages: topics and JSON payloads with a schema version.

Only pseudonymous ids appear here: the gateway id, the device id and the patient pseudonym.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from edge.detect.af import AfEvent
from edge.detect.ectopy import PvcBurden
from edge.detect.vitals import OxygenDesaturationIndex, VitalEvent
from edge.messages.explain import explain_rhythm, explain_vital
from edge.signals.gaps import StreamGap
from edge.signals.heart_rate import HeartRateSummary

SCHEMA_VERSION = 1
TOPIC_ROOT = "edge/v1"
BPM = "beats/min"
MS = "ms"
PER_HOUR = "/h"


# An alert is an event starting: what the care team must see first.
MessageClass = Literal["alert", "event", "summary", "diagnostic"]
PRIORITIES: dict[MessageClass, int] = {"alert": 0, "event": 1, "summary": 2, "diagnostic": 3}


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    # Messages in one stream are numbered in order, so that a receiver can see gaps.
    stream: str
    topic: str
    payload: dict[str, Any]
    # For a payload in another format (FHIR): its class and patient, which it does not say
    # the gateway's way.
    kind: "MessageClass | None" = None
    patient: str | None = None

    @property
    def message_class(self) -> MessageClass:
        if self.kind is not None:
            return self.kind
        kind = self.stream.split("/", 1)[0]
        if kind == "event":
            return "alert" if self.payload.get("phase") == "started" else "event"
        if kind == "control":  # the answer to a remote update
            return "event"
        return "summary" if kind == "summary" else "diagnostic"

    @property
    def patient_id(self) -> str | None:
        patient = self.patient or self.payload.get("patient_id")
        return patient if isinstance(patient, str) else None

    def numbered(self, seq: int) -> dict[str, Any]:
        """The payload with its number in its stream: `seq`, or for a FHIR resource, an
        identifier in the stream's own system."""
        if "resourceType" in self.payload:
            number = {"system": f"urn:edge:stream:{self.stream}", "value": str(seq)}
            return self.payload | {"identifier": [*self.payload.get("identifier", []), number]}
        return self.payload | {"seq": seq}


def utc_iso(at: float) -> str:
    """UTC ISO-8601 with milliseconds, e.g. 2026-11-25T05:39:16.123Z."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def status_topic(gateway_id: str) -> str:
    return f"{TOPIC_ROOT}/{gateway_id}/status"


def _envelope(message_type: str, gateway_id: str, at: float) -> dict[str, Any]:
    return {
        "schema": f"edge.{message_type}",
        "schema_version": SCHEMA_VERSION,
        "message_id": str(uuid.uuid4()),
        "gateway_id": gateway_id,
        "created_at": utc_iso(at),
    }


def _measure(value: float | None, unit: str, digits: int = 1) -> dict[str, Any]:
    return {"value": None if value is None else round(value, digits), "unit": unit}


def summary_message(
    gateway_id: str, patient: str, summary: HeartRateSummary, now: float,
    desaturation_index: OxygenDesaturationIndex | None = None,
    ectopy: PvcBurden | None = None,
) -> OutgoingMessage:
    payload = _envelope("summary", gateway_id, now) | {
        "device_id": summary.device_id,
        "patient_id": patient,
        "period_start": utc_iso(summary.start),
        "period_end": utc_iso(summary.end),
        "sample_count": summary.samples,
        "coverage": {"value": round(summary.coverage, 3), "unit": "1"},
        "heart_rate": {
            "mean": _measure(summary.mean_bpm, BPM),
            "min": _measure(summary.min_bpm, BPM),
            "max": _measure(summary.max_bpm, BPM),
        },
        "rr_interval_count": summary.rr_count,
        "rmssd": _measure(summary.rmssd_ms, MS),
    }
    if desaturation_index is not None:
        payload["oxygen_desaturation_index"] = _odi(desaturation_index)
    if ectopy is not None:
        payload["ectopy"] = {"beats": ectopy.beats, "pvcs": ectopy.pvcs,
                             "pvc_burden": _measure(ectopy.burden, "1", 4)}
    return OutgoingMessage(
        stream=f"summary/{summary.device_id}",
        topic=f"{TOPIC_ROOT}/{gateway_id}/summary/{summary.device_id}",
        payload=payload,
    )


def _odi(index: OxygenDesaturationIndex) -> dict[str, Any]:
    return {
        "window_start": utc_iso(index.window_start),
        "window_end": utc_iso(index.window_end),
        "monitored": _measure(index.monitored_s, "s", 0),
        "desaturations_3pct": index.desaturations_3pct,
        "desaturations_4pct": index.desaturations_4pct,
        "odi3": _measure(index.odi3_per_hour, PER_HOUR),
        "odi4": _measure(index.odi4_per_hour, PER_HOUR),
    }


def event_message(
    gateway_id: str, patient: str, event: VitalEvent, now: float
) -> OutgoingMessage:
    payload = _envelope("event", gateway_id, now) | {
        "device_id": event.device_id,
        "patient_id": patient,
        "event_type": event.code,
        "vital": event.vital,
        "phase": event.phase,
        "onset_at": utc_iso(event.onset_at),
        "at": utc_iso(event.at),
        "limit": _measure(event.limit, event.unit),
        "limit_source": event.limit_source,
        "baseline": None if event.baseline is None else _measure(event.baseline, event.unit),
        "extreme": _measure(event.value, event.unit),
        "explanation": explain_vital(event.code, event.phase, round(event.value, 1)),
    }
    return _device_event(gateway_id, event.device_id, payload)


def rhythm_event_message(
    gateway_id: str, patient: str, device_id: str, event: AfEvent, source: str,
    detector: dict[str, str], now: float,
) -> OutgoingMessage:
    """An atrial fibrillation episode found from RR intervals (`source` "rr") or ECG ("ecg")."""
    payload = _envelope("event", gateway_id, now) | {
        "device_id": device_id,
        "patient_id": patient,
        "event_type": "atrial_fibrillation",
        "phase": event.phase,
        "onset_at": utc_iso(event.onset_s),
        "at": utc_iso(event.at_s),
        "offset_at": None if event.offset_s is None else utc_iso(event.offset_s),
        "burden": _measure(event.burden, "1", 3),
        "source": source,
        "detector": detector,
        "explanation": explain_rhythm(event.phase, None if event.offset_s is None
                                      else (event.offset_s - event.onset_s) / 60),
    }
    return _device_event(gateway_id, device_id, payload)


def _device_event(gateway_id: str, device_id: str, payload: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(
        stream=f"event/{device_id}",
        topic=f"{TOPIC_ROOT}/{gateway_id}/event/{device_id}",
        payload=payload,
    )


def gap_message(gateway_id: str, patient: str, gap: StreamGap, device_epoch: float,
                now: float) -> OutgoingMessage:
    """A stretch of samples the device's own clock says never arrived. `device_epoch` is the
    UTC time, in seconds, from which the device counts its time stamps."""
    payload = _envelope("diagnostic", gateway_id, now) | {
        "device_id": gap.device_id,
        "patient_id": patient,
        "diagnostic_type": "data_gap",
        "stream": gap.stream,
        "gap_after": utc_iso(device_epoch + gap.after_ns / 1e9),
        "gap_before": utc_iso(device_epoch + gap.before_ns / 1e9),
        "missing_samples": gap.missing_samples,
    }
    return OutgoingMessage(
        stream=f"diagnostic/{gap.device_id}",
        topic=f"{TOPIC_ROOT}/{gateway_id}/diagnostic/{gap.device_id}",
        payload=payload,
    )


def status_payload(gateway_id: str, state: str, now: float) -> dict[str, Any]:
    return _envelope("status", gateway_id, now) | {"state": state}


def selftest_message(gateway_id: str, nonce: str, now: float) -> tuple[str, dict[str, Any]]:
    """The topic and payload of a provisioning round trip through the broker."""
    return (f"{TOPIC_ROOT}/{gateway_id}/selftest/{nonce}",
            _envelope("selftest", gateway_id, now) | {"nonce": nonce})
