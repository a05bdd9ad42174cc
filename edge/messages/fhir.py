"""FHIR R4 mode: heart-rate summaries and vital-sign events as Observation resources.

LOINC codes: heart rate 8867-4; SpO2 59408-5 (by pulse oximetry) with 2708-6; body temperature
8310-5; blood pressure panel 85354-9 with systolic 8480-6 and diastolic 8462-4 components. UCUM
units. The patient and the device are referenced by their pseudonyms (logical references with an
identifier), never by anything that names them. A value the gateway does not have is a
`dataAbsentReason`, not an absent or made-up one. Rhythm events, diagnostics and the status stay
in the gateway's own format: no listed Observation fits them.
"""

from typing import Any

from edge.messages.payloads import TOPIC_ROOT, OutgoingMessage

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                         "code": "vital-signs", "display": "Vital Signs"}]}
_ABSENT = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                       "code": "not-performed", "display": "Not Performed"}]}
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# vital -> (codings, UCUM unit code, its human-readable unit)
_VITALS: dict[str, tuple[list[tuple[str, str]], str, str]] = {
    "heart_rate": ([("8867-4", "Heart rate")], "/min", "beats/minute"),
    "spo2": ([("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
              ("2708-6", "Oxygen saturation in Arterial blood")], "%", "%"),
    "temperature": ([("8310-5", "Body temperature")], "Cel", "Cel"),
    "systolic_pressure": ([("8480-6", "Systolic blood pressure")], "mm[Hg]", "mmHg"),
    "diastolic_pressure": ([("8462-4", "Diastolic blood pressure")], "mm[Hg]", "mmHg"),
}
_PANEL = [("85354-9", "Blood pressure panel with all children optional")]
_HIGH_EVENTS = frozenset({"tachycardia", "fever", "hypertension"})


def as_fhir(message: OutgoingMessage) -> OutgoingMessage:
    """The message as an Observation where one fits, else the message itself."""
    payload = message.payload
    schema = payload.get("schema")
    if schema == "edge.summary":
        observation = _heart_rate_summary(payload)
    elif schema == "edge.event" and payload.get("vital") in _VITALS:
        observation = _vital_event(payload)
    else:
        return message
    device = payload["device_id"]
    return OutgoingMessage(f"fhir/{device}",
                           f"{TOPIC_ROOT}/{payload['gateway_id']}/fhir/Observation/{device}",
                           observation, message.message_class, payload["patient_id"])


def _code(codings: list[tuple[str, str]]) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}
                       for code, display in codings]}


def _quantity(value: float | None, vital: str) -> dict[str, Any]:
    _, code, unit = _VITALS[vital]
    if value is None:
        return {"dataAbsentReason": _ABSENT}
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": code}}


def _base(payload: dict[str, Any], codings: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:ietf:rfc:3986",
                        "value": f"urn:uuid:{payload['message_id']}"}],
        "status": "final",
        "category": [_CATEGORY],
        "code": _code(codings),
        "subject": {"identifier": {"system": "urn:edge:patient",
                                   "value": payload["patient_id"]}},
        "device": {"identifier": {"system": "urn:edge:device", "value": payload["device_id"]}},
        "issued": payload["created_at"],
    }


def _heart_rate_summary(payload: dict[str, Any]) -> dict[str, Any]:
    observation = _base(payload, _VITALS["heart_rate"][0])
    observation["effectivePeriod"] = {"start": payload["period_start"],
                                      "end": payload["period_end"]}
    return observation | _quantity(payload["heart_rate"]["mean"]["value"], "heart_rate")


def _vital_event(payload: dict[str, Any]) -> dict[str, Any]:
    vital = payload["vital"]
    value = payload["extreme"]["value"]
    pressure = vital in ("systolic_pressure", "diastolic_pressure")
    observation = _base(payload, _PANEL if pressure else _VITALS[vital][0])
    observation["effectiveDateTime"] = payload["at"]
    high = payload["event_type"] in _HIGH_EVENTS
    observation["interpretation"] = [{"coding": [{
        "system": _INTERPRETATION, "code": "H" if high else "L",
        "display": "High" if high else "Low"}]}]
    observation["note"] = [{"text": f"{payload['event_type'].replace('_', ' ')} "
                                    f"{payload['phase']}; limit {payload['limit']['value']} "
                                    f"({payload['limit_source']})"}]
    if not pressure:
        return observation | _quantity(value, vital)
    observation["component"] = [
        {"code": _code(_VITALS[part][0]), **_quantity(value if part == vital else None, part)}
        for part in ("systolic_pressure", "diastolic_pressure")]
    return observation
