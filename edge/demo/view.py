"""One line per message that reaches the broker, for the demo's live terminal view."""

import json
from typing import Any


def describe(topic: str, raw: bytes) -> str:
    try:
        payload: dict[str, Any] = json.loads(raw)
    except ValueError:
        return f"{topic}  (not JSON: {raw[:60]!r})"
    kind = payload.get("schema", "?").removeprefix("edge.")
    at = str(payload.get("created_at", ""))[11:19]
    detail = _DESCRIBERS.get(kind, lambda p: json.dumps(p))(payload)
    return f"{at}  {kind:<7}  {payload.get('device_id', '-'):<10}  {detail}"


def _summary(payload: dict[str, Any]) -> str:
    hr = payload["heart_rate"]
    rmssd = payload["rmssd"]["value"]
    heart = (f"heart rate {hr['mean']['value']:.0f} bpm ({hr['min']['value']}-{hr['max']['value']})"
             if hr["mean"]["value"] is not None else "no heart rate")
    variability = f"RMSSD {rmssd:.0f} ms" if rmssd is not None else "RMSSD -"
    coverage = payload["coverage"]["value"] * 100
    return (f"{heart}, {variability}, {payload['sample_count']} samples, "
            f"coverage {coverage:.0f}%  [seq {payload.get('seq')}]")


def _event(payload: dict[str, Any]) -> str:
    if "limit" not in payload:  # a rhythm event
        burden = payload["burden"]["value"]
        return (f"{payload['event_type'].replace('_', ' ')} {payload['phase']} (from the "
                f"{payload['source'].upper()}, burden {burden:.0%})  [seq {payload.get('seq')}]")
    limit, extreme = payload["limit"], payload["extreme"]
    vital = payload["vital"].replace("_", " ")
    return (f"{payload['event_type'].replace('_', ' ')} {payload['phase']}: {vital} "
            f"{extreme['value']:g} {extreme['unit']} (limit {limit['value']:g}, "
            f"{payload['limit_source']})  [seq {payload.get('seq')}]")


def _status(payload: dict[str, Any]) -> str:
    return f"gateway {payload['gateway_id']} is {payload['state']}"


def _diagnostic(payload: dict[str, Any]) -> str:
    return f"{payload['diagnostic_type'].replace('_', ' ')}: {payload.get('stream', '')}"


_DESCRIBERS = {"summary": _summary, "event": _event, "status": _status,
               "diagnostic": _diagnostic}
