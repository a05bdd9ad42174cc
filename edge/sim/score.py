"""`edge sim score LOG EVENTS`: each injected episode detected or missed, with its delay, and
every event that no episode explains (a false alarm).

LOG is a run's ground truth (JSON Lines, from `edge sim --truth`). EVENTS holds the messages as
received from the broker, one JSON object per line: either the payload itself or
{"topic": ..., "payload": {...}}; only event messages of the run's patient count. An episode's
delay runs from its start to the `at` of the first "started" event of an expected type; it is
detected when that is within its bound. An event is explained when an episode expecting its type
was under way at its `at`, or had ended at most the run's `quiet_margin_s` before.
"""

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

_EVENT_SCHEMA = "edge.event"


class ScoreError(ValueError):
    """A file that cannot be scored, with the file, line and reason."""


@dataclass(frozen=True)
class EpisodeScore:
    kind: str
    start_t: float
    expected: tuple[str, ...]
    bound_s: float
    detected: bool
    delay_s: float | None
    event_type: str | None


@dataclass(frozen=True)
class Score:
    scenario: str
    episodes: list[EpisodeScore]
    false_alarms: list[dict[str, Any]]
    events: int

    @property
    def passed(self) -> bool:
        return all(e.detected for e in self.episodes) and not self.false_alarms

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "passed": self.passed, "events": self.events,
                "episodes": [asdict(e) for e in self.episodes],
                "false_alarms": self.false_alarms}


def _json_lines(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ScoreError(f"{path}: cannot read: {error}") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ScoreError(f"{path}:{number}: not JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise ScoreError(f"{path}:{number}: a JSON object is needed")
        records.append(record)
    return records


def _epoch(text: Any, where: str) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ScoreError(f"{where}: 'at' is not an ISO 8601 time: {text!r}") from None


def _events(path: Path, patient: str) -> list[tuple[float, dict[str, Any]]]:
    events = []
    for number, record in enumerate(_json_lines(path), start=1):
        payload = record.get("payload", record)
        if not isinstance(payload, dict) or payload.get("schema") != _EVENT_SCHEMA:
            continue
        if payload.get("patient_id") == patient:
            events.append((_epoch(payload.get("at"), f"{path}: event {number}"), payload))
    return sorted(events, key=lambda item: item[0])


def score(log: Path, events_file: Path) -> Score:
    truth = _json_lines(log)
    run = next((r for r in truth if r.get("record") == "run"), None)
    if run is None:
        raise ScoreError(f"{log}: no 'run' record: is this a ground-truth log of `edge sim`?")
    try:
        epoch, margin = float(run["epoch"]), float(run["quiet_margin_s"])
        episodes = [r for r in truth if r.get("record") == "episode" and r["phase"] == "start"]
        windows = [(epoch + e["t"], epoch + e["end_t"] + margin, set(e["expect"]))
                   for e in episodes]
    except (KeyError, TypeError, ValueError) as error:
        raise ScoreError(f"{log}: malformed record: {error!r}") from None
    events = _events(events_file, run["patient"])
    started = [(at, e) for at, e in events if e.get("phase") == "started"]
    scores = [_episode_score(e, epoch, started) for e in episodes if e["expect"]]
    false_alarms = [
        {"event_type": e.get("event_type"), "at": e.get("at"), "device_id": e.get("device_id")}
        for at, e in started
        if not any(start <= at <= end and e.get("event_type") in kinds
                   for start, end, kinds in windows)]
    return Score(run["scenario"], scores, false_alarms, len(events))


def _episode_score(episode: dict[str, Any], epoch: float,
                   started: list[tuple[float, dict[str, Any]]]) -> EpisodeScore:
    start = epoch + episode["t"]
    bound = float(episode["bound_s"])
    first = next(((at, e) for at, e in started
                  if e.get("event_type") in episode["expect"] and at >= start), None)
    delay = None if first is None else first[0] - start
    return EpisodeScore(episode["kind"], episode["t"], tuple(episode["expect"]), bound,
                        delay is not None and delay <= bound, delay,
                        None if first is None else first[1].get("event_type"))


def describe(result: Score) -> str:
    lines = [f"scenario {result.scenario}: {'PASSED' if result.passed else 'FAILED'} "
             f"({result.events} events)"]
    for e in result.episodes:
        verdict = (f"detected after {e.delay_s:.0f} s ({e.event_type})" if e.detected else
                   "MISSED" if e.delay_s is None else f"LATE: {e.delay_s:.0f} s")
        lines.append(f"  {e.kind} at {e.start_t:g} s (bound {e.bound_s:g} s): {verdict}")
    lines += [f"  FALSE ALARM: {a['event_type']} at {a['at']} from {a['device_id']}"
              for a in result.false_alarms]
    return "\n".join(lines)
