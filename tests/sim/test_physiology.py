"""The simulated patient: rates, rhythms and vital signs that follow the script and agree."""

import statistics

import numpy as np
import pytest

from edge.analyze import analyze_record
from edge.config import ModelSettings
from edge.detector_models import load_detector_models
from edge.records.wfdb import Record
from edge.shipped import shipped_dir
from edge.sim.ecg_waveform import EcgWaveform
from edge.sim.physiology import Baseline, Episode, EpisodeKind, Patient


def rr(patient: Patient, start: float, end: float) -> list[float]:
    return [beat.rr_s for beat in patient.beats_between(start, end)]


def test_sinus_rhythm_beats_at_the_resting_rate_with_breathing_in_it() -> None:
    patient = Patient(Baseline(resting_bpm=60, breaths_per_min=12), seed=1)
    beats = patient.beats_between(0, 600)
    assert 60 / statistics.mean(b.rr_s for b in beats) == pytest.approx(60, abs=1)
    # Respiratory sinus arrhythmia: each RR interval follows the breathing as it begins.
    phase = [patient.breathing_phase(b.t - b.rr_s) for b in beats]
    assert np.corrcoef(phase, [b.rr_s for b in beats])[0, 1] > 0.7
    assert {b.kind for b in beats} == {"N"} and not any(b.af for b in beats)


def test_af_is_irregularly_irregular_at_its_ventricular_rate_and_ends_on_time() -> None:
    patient = Patient(Baseline(resting_bpm=60), [Episode("af", 100, 300, 120)], seed=2)
    before, during, after = rr(patient, 0, 100), rr(patient, 101, 400), rr(patient, 401, 600)
    assert statistics.stdev(during) / statistics.mean(during) > 0.15
    assert statistics.stdev(before) / statistics.mean(before) < 0.06
    assert 60 / statistics.mean(during) == pytest.approx(120, rel=0.1)
    assert all(b.af for b in patient.beats_between(101, 400))
    assert not any(b.af for b in patient.beats_between(401, 600))
    assert 60 / statistics.mean(after) == pytest.approx(60, abs=2)


def test_a_pvc_comes_early_and_the_pause_after_it_makes_up_two_beats() -> None:
    patient = Patient(Baseline(resting_bpm=60), [Episode("pvc", 0, 600, 10)], seed=3)
    beats = patient.beats_between(0, 600)
    pvcs = [i for i, b in enumerate(beats[:-1]) if b.kind == "V"]
    assert 70 <= len(pvcs) <= 130  # 10 a minute
    for i in pvcs:
        assert beats[i].rr_s + beats[i + 1].rr_s == pytest.approx(2 * beats[i].rr_s / 0.6)
        assert beats[i + 1].kind == "N"


def test_rates_and_vital_signs_follow_their_episodes_with_ramps() -> None:
    episodes = [Episode("tachycardia", 100, 100, 150, ramp_s=10),
                Episode("desaturation", 300, 60, 84, ramp_s=10),
                Episode("hypotension", 400, 60, 80, ramp_s=10)]
    patient = Patient(Baseline(resting_bpm=70, spo2_pct=97), episodes, seed=4)
    assert patient.sinus_rate_at(50) == pytest.approx(70)
    assert patient.sinus_rate_at(105) == pytest.approx(110)  # half way up the ramp
    assert patient.sinus_rate_at(150) == pytest.approx(150)
    assert patient.heart_rate_at(160) == pytest.approx(150, rel=0.08)
    assert patient.spo2_at(330) == pytest.approx(84)
    assert patient.spo2_at(370) == pytest.approx(97)
    systolic, diastolic = patient.blood_pressure_at(430)
    assert systolic == pytest.approx(80) and diastolic < 60


def test_temperature_swings_through_the_day_and_a_fever_raises_the_heart_rate() -> None:
    patient = Patient(Baseline(temperature_c=36.7, resting_bpm=70), start_hour=0.0)
    at_dawn, at_evening = patient.temperature_at(6 * 3600), patient.temperature_at(18 * 3600)
    assert at_evening - at_dawn == pytest.approx(0.6, abs=0.01)
    feverish = Patient(Baseline(resting_bpm=70), [Episode("fever", 0, 7200, 39.2)],
                       start_hour=12.0)
    assert feverish.temperature_at(3600) == pytest.approx(39.2)
    assert feverish.sinus_rate_at(3600) == pytest.approx(70 + 2.0 * 8)


def test_the_same_seed_gives_the_same_patient() -> None:
    script = [Episode("af", 10, 50, 110)]
    first, second = Patient(Baseline(), script, seed=5), Patient(Baseline(), script, seed=5)
    assert first.beats_between(0, 100) == second.beats_between(0, 100)
    assert rr(Patient(Baseline(), script, seed=6), 0, 100) != rr(first, 0, 100)


ANALYSIS = load_detector_models(ModelSettings(), shipped_dir("models")).analysis()


@pytest.mark.parametrize("fs", [130.0, 250.0, 300.0])
def test_the_gateways_own_detectors_find_the_drawn_beats_pvcs_and_af(fs: float) -> None:
    script = [Episode("pvc", 0, 120, 8), Episode("af", 180, 120, 110)]
    waveform = EcgWaveform(Patient(Baseline(resting_bpm=66), script, seed=7), fs, seed=7)
    frame = round(0.56 * fs)
    signal = np.concatenate([waveform.samples_mv(i, frame) for i in range(0, int(300 * fs),
                                                                        frame)])
    report = analyze_record(Record("sim", fs, signal, np.zeros(1, np.int16), 1.0, "mV"),
                            ANALYSIS)
    # The same patient again (same seed) for the truth: drawing forgets old beats.
    beats = Patient(Baseline(resting_bpm=66), script, seed=7).beats_between(0.0, 300.0)
    truth = np.array([b.t for b in beats])
    found = np.array(report["r_peaks"]) / fs
    inside = (found > 2) & (found < 298)
    assert (np.abs(found[inside, None] - truth).min(axis=1) < 0.05).mean() > 0.99  # +P
    inside = (truth > 2) & (truth < 298)
    assert (np.abs(truth[inside, None] - found).min(axis=1) < 0.05).mean() > 0.99  # Se
    pvcs = sum(b.kind == "V" and b.t < 120 for b in beats)
    labels = report["beat_labels"]
    assert abs(labels[: int(len(labels) * 0.35)].count("V") - pvcs) <= 3
    assert [round(e["onset_s"]) // 60 for e in report["episodes"]][:1] == [3]


@pytest.mark.parametrize(("kind", "level", "usable"), [
    ("noise", 0.4, False), ("off_body", 0.0, False), ("motion", 1.5, True)])
def test_artefacts_make_the_signal_unusable_or_leave_the_beats_findable(
    kind: EpisodeKind, level: float, usable: bool,
) -> None:
    """Noise and an electrode off the skin make the gateway's quality check refuse the signal;
    slow motion artefact does not hide the beats. None of it looks like AF."""
    waveform = EcgWaveform(Patient(Baseline(), [Episode(kind, 60, 120, level)], seed=3), 130)
    signal = np.concatenate([waveform.samples_mv(i, 73) for i in range(0, 130 * 240, 73)])
    report = analyze_record(Record("sim", 130.0, signal, np.zeros(1, np.int16), 1.0, "mV"),
                            ANALYSIS)
    during = [w["usable"] for w in report["quality"] if 65 <= w["start_s"] < 175]
    outside = [w["usable"] for w in report["quality"] if not 55 <= w["start_s"] < 185]
    assert all(outside) and during and all(u == usable for u in during)
    assert report["episodes"] == [] and not report["verdict"]["af"]
