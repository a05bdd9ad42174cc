"""A Polar H10's ECG frames through the pipeline: real recordings, resampled to the strap's
130 Hz and cut into its 73-sample frames of µV, with the strap's heart-rate notifications."""

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from edge.config import ModelSettings, parse_config
from edge.detector_models import DetectorModels, load_detector_models
from edge.gatt import HeartRateMeasurement, PmdDataFrame
from edge.link.notification import Notification
from edge.metrics import Counters
from edge.pipeline import Pipeline
from edge.records.wfdb import read_record
from edge.shipped import shipped_dir
from tools.evaluation.rpeaks import resample

ECG = Path(__file__).parent / "data" / "ecg"
FS = 130
FRAME = 73
PERIOD_NS = 1_000_000_000 / FS
START = 1_700_000_000.0
CONFIG = parse_config({
    "gateway": {"id": "gw-1"},
    "summary": {"period_s": 10},
    "devices": [{"id": "strap-01", "patient": "patient-0001"}],
})


@pytest.fixture(scope="module")
def models() -> DetectorModels:
    return load_detector_models(ModelSettings(), shipped_dir("models"))


def strap_at_130_hz(record: str, repeat: int = 1) -> np.ndarray:
    signal = read_record(ECG / f"{record}.hea").signal_mv
    ratio = Fraction(FS) / Fraction(read_record(ECG / f"{record}.hea").fs).limit_denominator()
    return np.tile(resample(signal, ratio), repeat)


def notifications(signal_mv: np.ndarray) -> list[Notification]:
    """ECG frames as they arrive, and a heart-rate notification every second."""
    out = []
    next_heart_rate = START + 1
    for index in range(len(signal_mv) // FRAME):
        frame_samples = np.round(signal_mv[index * FRAME:(index + 1) * FRAME] * 1000)
        last_sample_ns = round((index + 1) * FRAME * PERIOD_NS)
        at = START + (index + 1) * FRAME / FS
        frame = PmdDataFrame.ecg(last_sample_ns, frame_samples.astype(int))
        out.append(Notification("strap-01", PmdDataFrame.UUID, frame.to_bytes(), at))
        while next_heart_rate <= at:
            heart_rate = HeartRateMeasurement(70, True, None, ()).to_bytes()
            out.append(Notification("strap-01", HeartRateMeasurement.UUID, heart_rate,
                                    next_heart_rate))
            next_heart_rate += 1
    return out


def run(signal_mv: np.ndarray, models: DetectorModels) -> list[dict[str, Any]]:
    pipeline = Pipeline(CONFIG, Counters(), None, models)
    payloads = [m.payload for n in notifications(signal_mv) for m in pipeline.handle(n)]
    return payloads + [m.payload for m in pipeline.tick(START + len(signal_mv) / FS + 10)]


def test_pvcs_in_the_ecg_are_counted_on_the_summaries(models: DetectorModels) -> None:
    summaries = [p for p in run(strap_at_130_hz("200_1080s"), models)
                 if p["schema"] == "edge.summary"]
    ectopy = [s["ectopy"] for s in summaries if "ectopy" in s]
    # The excerpt holds 23 annotated PVCs in 30 s; the first seconds go to learning.
    assert 15 <= sum(e["pvcs"] for e in ectopy) <= 25
    assert 25 <= sum(e["beats"] for e in ectopy) <= 45


def test_recorded_af_in_the_ecg_becomes_an_ecg_af_episode_and_sinus_rhythm_does_not(
        models: DetectorModels, validators: dict[str, Draft202012Validator]) -> None:
    sinus = [p for p in run(strap_at_130_hz("100_60s", repeat=4), models)
             if p.get("event_type") == "atrial_fibrillation"]
    assert sinus == []
    events = [p for p in run(strap_at_130_hz("A00004", repeat=4), models)
              if p.get("event_type") == "atrial_fibrillation"]
    assert events, "no AF episode in four passes of a recorded AF episode"
    started = events[0]
    assert (started["phase"], started["source"]) == ("started", "ecg")
    assert started["detector"]["name"] == "af_ecg"
    assert [e.message for e in validators["event"].iter_errors(started | {"seq": 1})] == []
