"""FHIR R4 mode: the pipeline's summaries and vital-sign events, numbered by the outbox, are
valid Observation resources (checked with fhir.resources, R4B: Observation is unchanged from R4)
with the right LOINC codes and UCUM units."""

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from edge.gatt import HeartRateMeasurement
from edge.link.notification import Notification
from edge.messages.fhir import as_fhir
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.pipeline import Pipeline
from tests.test_pipeline import CONFIG, HRM, cuff, good, oximeter, thermometer


def pipeline_messages() -> list[OutgoingMessage]:
    """A summary period, a tachycardia, a desaturation, a fever and a high blood pressure."""
    pipeline = Pipeline(CONFIG, Counters(), None)
    notifications = [good(1000.0 + s, 150 if s >= 20 else 70) for s in range(40)]
    notifications += [oximeter(2000.0 + s, 92.0 if 120 <= s < 135 else 97.0)
                      for s in range(200)]
    notifications += [thermometer(5000.0, 38.6), thermometer(5600.0, 38.9)]
    notifications += [cuff(7000.0, 182.0), cuff(8000.0, 185.0)]
    return [m for n in notifications for m in pipeline.handle(n)]


def published(tmp_path: Path, messages: list[OutgoingMessage]) -> list[dict[str, Any]]:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put([as_fhir(m) for m in messages])
    payloads = [json.loads(m.payload) for m in outbox.next_batch(10_000)]
    outbox.close()
    return [p for p in payloads if p.get("resourceType") == "Observation"]


def codes(observation: dict[str, Any]) -> list[str]:
    return [coding["code"] for coding in observation["code"]["coding"]]


def test_every_observation_is_valid_fhir_with_its_loinc_code_and_ucum_unit(
    tmp_path: Path,
) -> None:
    messages = pipeline_messages()
    observations = published(tmp_path, messages)
    assert len(observations) == sum(
        m.payload["schema"] == "edge.summary" or "vital" in m.payload for m in messages)
    for observation in observations:
        Observation.model_validate(observation)  # raises on anything not R4 Observation
        assert observation["subject"]["identifier"]["value"] == "patient-0001"
        assert observation["device"]["identifier"]["value"] == "strap-01"
        assert observation["category"][0]["coding"][0]["code"] == "vital-signs"
    by_code = {tuple(codes(o)): o for o in observations}
    heart_rate = by_code[("8867-4",)]
    assert heart_rate["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert heart_rate["valueQuantity"]["code"] == "/min"
    spo2 = by_code[("59408-5", "2708-6")]
    assert (spo2["valueQuantity"]["code"], spo2["interpretation"][0]["coding"][0]["code"]) == (
        "%", "L")
    fever = by_code[("8310-5",)]
    assert fever["valueQuantity"] == {"value": 38.9, "unit": "Cel",
                                      "system": "http://unitsofmeasure.org", "code": "Cel"}
    panel = by_code[("85354-9",)]
    systolic, diastolic = panel["component"]
    assert codes(systolic) == ["8480-6"] and systolic["valueQuantity"]["code"] == "mm[Hg]"
    # A cuff event is about one pressure: the other is absent, and says so.
    assert codes(diastolic) == ["8462-4"] and "valueQuantity" not in diastolic
    assert diastolic["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_each_observation_carries_its_stream_number_as_an_identifier(tmp_path: Path) -> None:
    observations = published(tmp_path, pipeline_messages())
    numbers = [int(next(i["value"] for i in o["identifier"]
                        if i["system"] == "urn:edge:stream:fhir/strap-01"))
               for o in observations]
    assert sorted(numbers) == list(range(1, len(observations) + 1))


def test_a_summary_without_a_heart_rate_has_a_data_absent_reason(tmp_path: Path) -> None:
    pipeline = Pipeline(CONFIG, Counters(), None)
    off_body = HeartRateMeasurement(0, False, None, ()).to_bytes()  # no skin contact
    (empty, *_) = [m for s in range(25)
                   for m in pipeline.handle(Notification("strap-01", HRM, off_body, 1000.0 + s))]
    (observation,) = published(tmp_path, [empty])
    Observation.model_validate(observation)
    assert "valueQuantity" not in observation
    assert observation["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_the_gateways_own_format_is_not_fhir(tmp_path: Path) -> None:
    (summary, *_) = [m for m in pipeline_messages() if m.payload["schema"] == "edge.summary"]
    with pytest.raises(ValidationError):
        Observation.model_validate(summary.payload)
