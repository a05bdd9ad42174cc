"""`edge sim score`: detected, late and missed episodes, false alarms, and files it cannot read."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.messages.payloads import utc_iso
from edge.sim.score import ScoreError, score
from tests.sim.test_runner import run

EPOCH = 1_800_000_000.0


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run's ground truth: tachycardia at 20 s (bound 60 s), motion at 60 s."""
    _, _, log = run([], episodes=[{"kind": "tachycardia", "start_s": 20, "duration_s": 30},
                                  {"kind": "motion", "start_s": 60, "duration_s": 10}])
    path = tmp_path_factory.mktemp("score") / "truth.jsonl"
    path.write_text(log)
    return path


def event(event_type: str, t: float, phase: str = "started",
          patient: str = "patient-0001") -> dict[str, Any]:
    return {"schema": "edge.event", "event_type": event_type, "phase": phase,
            "at": utc_iso(EPOCH + t), "patient_id": patient, "device_id": "dev"}


def events_file(tmp_path: Path, *payloads: dict[str, Any], wrapped: bool = True) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"topic": "edge/v1/gw/event/dev", "payload": p}
                                       if wrapped else p) + "\n" for p in payloads))
    return path


def test_an_expected_event_within_its_bound_is_a_detection_with_its_delay(
    truth: Path, tmp_path: Path,
) -> None:
    result = score(truth, events_file(tmp_path, event("tachycardia", 32),
                                      event("tachycardia", 55, "ended"),
                                      {"schema": "edge.summary", "patient_id": "patient-0001"}))
    assert result.passed and result.events == 2 and result.false_alarms == []
    (tachycardia,) = result.episodes  # motion expects nothing
    assert tachycardia.detected and tachycardia.delay_s == pytest.approx(12)


def test_a_late_event_a_missing_one_and_an_unexplained_one_fail_the_run(
    truth: Path, tmp_path: Path,
) -> None:
    late = score(truth, events_file(tmp_path, event("tachycardia", 90), wrapped=False))
    assert not late.passed and late.episodes[0].delay_s == pytest.approx(70)
    missed = score(truth, events_file(tmp_path, event("tachycardia", 10, patient="other")))
    assert not missed.passed and missed.episodes[0].delay_s is None and missed.events == 0
    # Motion artefact must not raise an alarm; the run's quiet margin is 120 s after an end.
    alarm = score(truth, events_file(tmp_path, event("tachycardia", 25), event("fever", 65)))
    assert [a["event_type"] for a in alarm.false_alarms] == ["fever"] and not alarm.passed


def test_unreadable_files_are_named_with_the_line(truth: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"payload": {}}\nnot json\n')
    with pytest.raises(ScoreError, match=r"bad\.jsonl:2: not JSON"):
        score(truth, bad)
    with pytest.raises(ScoreError, match=r"events\.jsonl: no 'run' record"):
        score(events_file(tmp_path, event("fever", 1)), truth)
    with pytest.raises(ScoreError, match=r"missing\.jsonl: cannot read"):
        score(tmp_path / "missing.jsonl", truth)


def test_the_command_prints_the_verdict_and_its_exit_code_says_it(
    truth: Path, tmp_path: Path,
) -> None:
    def edge_sim_score(events: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "edge", "sim", "score", str(truth),
                               str(events)], capture_output=True, text=True, timeout=60)

    passed = edge_sim_score(events_file(tmp_path, event("tachycardia", 30)))
    assert passed.returncode == 0, passed.stderr
    assert "tachycardia at 20 s (bound 60 s): detected after 10 s (tachycardia)" in passed.stdout
    failed = edge_sim_score(events_file(tmp_path, event("bradycardia", 30)))
    assert failed.returncode == 1
    assert "MISSED" in failed.stdout and "FALSE ALARM: bradycardia" in failed.stdout
    (tmp_path / "garbage.jsonl").write_text("[1]\n")
    refused = edge_sim_score(tmp_path / "garbage.jsonl")
    assert refused.returncode == 2
    assert "garbage.jsonl:1: a JSON object is needed" in refused.stderr
    assert "Traceback" not in refused.stderr
