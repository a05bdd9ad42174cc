import logging
import shutil
from pathlib import Path

import pytest

from edge.config import ModelSettings
from edge.detector_models import load_detector_models
from edge.shipped import shipped_dir

SHIPPED = shipped_dir("models")


def test_the_shipped_models_load_and_bring_their_thresholds() -> None:
    models = load_detector_models(ModelSettings(), SHIPPED)
    af_ecg, pvc = models.af_ecg, models.pvc
    assert models.af_rr is not None and af_ecg is not None and pvc is not None
    ecg = models.rhythm(ecg=True)
    assert ecg.af is models.af_ecg and ecg.af_uses_ecg
    assert ecg.af_settings.threshold == af_ecg.manifest.thresholds["af"]
    assert ecg.af_settings.step_beats == af_ecg.manifest.card["window_step_beats"]
    assert ecg.pvc_threshold == pvc.manifest.thresholds["pvc"]
    rr = models.rhythm(ecg=False)
    assert rr.af is models.af_rr and not rr.af_uses_ecg


def test_without_an_ecg_model_ecg_streams_use_the_rr_model_on_their_r_peaks() -> None:
    models = load_detector_models(ModelSettings(af_ecg=""), SHIPPED)
    assert models.af_ecg is None
    ecg = models.rhythm(ecg=True)
    assert ecg.af is models.af_rr and not ecg.af_uses_ecg


def test_a_corrupt_model_is_refused_and_the_rules_stand_in(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copytree(SHIPPED / "af_rr", tmp_path / "af_rr")
    tflite = tmp_path / "af_rr" / "af_rr.int8.tflite"
    content = bytearray(tflite.read_bytes())
    content[len(content) // 2] ^= 0xFF
    tflite.write_bytes(bytes(content))
    settings = ModelSettings(af_ecg="", pvc="", backend="litert")
    models = load_detector_models(settings, tmp_path)
    assert (models.af_rr, models.af_ecg, models.pvc) == (None, None, None)
    (refusal,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "rule-based" in refusal and "af_rr.int8.tflite" in refusal and "sha256" in refusal
    rules = models.rhythm(ecg=True)
    assert (rules.af, rules.pvc, rules.af_uses_ecg) == (None, None, False)


def test_a_missing_package_is_refused_by_name(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    models = load_detector_models(ModelSettings(af="no_such_model", af_ecg="", pvc=""), SHIPPED)
    assert models.af_rr is None
    assert any("no_such_model" in m and "manifest.json" in m for m in caplog.messages)
