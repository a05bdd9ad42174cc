"""`edge analyze`: the streaming analysis on recordings, through the command a user runs."""

import json
import subprocess
import sys
from pathlib import Path

from edge.analyze import analyze_file
from edge.detector_models import DetectorModels
from edge.records.wfdb import read_annotations

ECG = Path(__file__).parent / "data" / "ecg"


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", "analyze", *args],
                          capture_output=True, text=True, timeout=120)


def test_one_json_line_per_record_with_peaks_labels_windows_and_a_verdict() -> None:
    result = analyze("--json", str(ECG / "200_1080s.hea"), str(ECG / "A00004.hea"))
    assert result.returncode == 0, result.stderr
    pvc_rich, fibrillation = (json.loads(line) for line in result.stdout.splitlines())
    annotated = read_annotations(ECG / "200_1080s.atr")
    assert abs(len(pvc_rich["r_peaks"]) - len(annotated.samples)) <= 2
    assert len(pvc_rich["beat_labels"]) == len(pvc_rich["r_peaks"])
    assert pvc_rich["beat_labels"].count("V") >= 15
    assert pvc_rich["verdict"] == {"af": False, "noisy": False}
    assert fibrillation["verdict"] == {"af": True, "noisy": False}
    assert fibrillation["windows"] and all(0 <= w["af_probability"] <= 1
                                           for w in fibrillation["windows"])
    assert fibrillation["detectors"]["af"].startswith("af_ecg ")


def test_a_bad_record_gets_an_error_line_and_exit_2_and_the_others_are_still_analysed(
        tmp_path: Path) -> None:
    truncated = tmp_path / "100_60s.hea"
    truncated.write_text((ECG / "100_60s.hea").read_text())
    (tmp_path / "100_60s.dat").write_bytes((ECG / "100_60s.dat").read_bytes()[:1000])
    result = analyze("--json", str(truncated), str(ECG / "100_60s.hea"))
    assert result.returncode == 2
    bad, good = (json.loads(line) for line in result.stdout.splitlines())
    assert bad["record"] == str(truncated) and "100_60s.dat" in bad["error"]
    assert good["verdict"]["af"] is False and len(good["r_peaks"]) > 25
    assert "Traceback" not in result.stderr


def test_the_analysis_streams_the_same_beats_whatever_the_rules_or_models() -> None:
    rules = analyze_file(ECG / "106_780s.hea", DetectorModels().analysis())
    assert rules["detectors"] == {"af": "rules", "pvc": "rules"}
    annotated = read_annotations(ECG / "106_780s.atr")
    assert abs(len(rules["r_peaks"]) - len(annotated.samples)) <= 2
