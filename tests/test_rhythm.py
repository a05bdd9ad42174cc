"""The streaming ECG analysis against the same steps run on a whole recording at once."""

from pathlib import Path

import numpy as np

from edge.detect.ectopy import classify_beats
from edge.detect.rhythm import Beat, EcgRhythm, EctopyCount, RhythmModels, RhythmUpdate
from edge.records.wfdb import read_record
from edge.signals.beats import beat_features
from edge.signals.rpeaks import detect_r_peaks

ECG = Path(__file__).parent / "data" / "ecg"


def stream(signal: np.ndarray, fs: float, chunk: int) -> RhythmUpdate:
    rhythm = EcgRhythm(fs, 0.0, RhythmModels())
    update = RhythmUpdate()
    for start in range(0, signal.size, chunk):
        update.extend(rhythm.push(signal[start:start + chunk]))
    update.extend(rhythm.flush())
    return update


def test_streamed_beats_and_labels_match_the_whole_recording_at_once() -> None:
    record = read_record(ECG / "200_1080s.hea")
    peaks = detect_r_peaks(record.signal_mv, record.fs)
    whole = classify_beats(beat_features(record.signal_mv, record.fs, peaks), None)
    for chunk in (73, 360, 5000):
        beats = stream(record.signal_mv, record.fs, chunk).beats
        assert [beat.sample for beat in beats] == list(peaks)
        labelled = [(i, beat.is_pvc) for i, beat in enumerate(beats) if beat.is_pvc is not None]
        assert len(labelled) >= len(beats) - 2
        assert all(is_pvc == whole[i] for i, is_pvc in labelled), chunk


def test_memory_stays_bounded_over_ten_minutes_of_ecg() -> None:
    record = read_record(ECG / "100_60s.hea")
    rhythm = EcgRhythm(record.fs, 0.0, RhythmModels())
    beats = 0
    for _ in range(20):  # 20 passes of 30 s
        beats += len(rhythm.push(record.signal_mv).beats)
    assert beats > 600
    assert rhythm.buffered_s <= 120, f"{rhythm.buffered_s:.0f} s of signal kept"


def test_after_a_gap_a_new_stream_starts_at_its_own_time() -> None:
    record = read_record(ECG / "100_60s.hea")
    rhythm = EcgRhythm(record.fs, 1000.0, RhythmModels())
    first = rhythm.push(record.signal_mv).beats
    rhythm.restart(5000.0)
    second = rhythm.push(record.signal_mv).beats + rhythm.flush().beats
    assert first and second
    assert all(1000.0 <= beat.at_s < 1030.0 for beat in first)
    assert all(5000.0 <= beat.at_s < 5030.0 for beat in second)


def test_ectopy_counts_only_labelled_beats_and_starts_afresh_after_each_period() -> None:
    count = EctopyCount()
    assert count.take(0.0, 10.0) is None
    count.add([Beat(100, 1.0, False), Beat(200, 2.0, True), Beat(300, 3.0, None)])
    burden = count.take(0.0, 10.0)
    assert burden is not None and (burden.beats, burden.pvcs) == (2, 1)
    assert burden.burden == 0.5
    assert count.take(10.0, 20.0) is None
