"""Trains the AF models on cinc2017 and exports them to models/af_rr/ and models/af_ecg/.

R peaks come from the gateway's own detector (edge.signals.rpeaks) on the gateway's own WFDB
reader (edge.records.wfdb). A window is WINDOW_BEATS RR intervals: af_rr sees its
edge.signals.rr_features only (for straps, which give RR intervals); af_ecg adds the
edge.signals.af_morphology features of the same beats (where the ECG itself is available).
af_ecg is trained on the windows of each record at its own 300 Hz and resampled to 130 Hz (a
Polar H10), with R peaks detected anew at that rate; both versions of a record always fall on
the same side of every split.

Every figure is from stratified 5-fold cross-validation split by record (seed SEED); inside each
training part, an inner 4-fold split by record picks the model (logistic regression or a small
MLP) and both thresholds, so no test record ever tunes anything: the record threshold (on the
mean window probability) with the best record-level F1, the window threshold as the highest
whose window-level F1 is within WINDOW_F1_SLACK of the best.
The final model repeats that choice on all 201 records, is fitted on all of them and exported
with tools.modelkit.export_mlp. The figures for the model cards come from tools/evaluation/af.py.

Usage (training environment): .venv-train/bin/python -m tools.train_af [DATA_DIR] [--models DIR]
"""

import argparse
import csv
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from edge.detect.af import MAX_RR_S, MIN_RR_S
from edge.records.wfdb import read_record
from edge.signals.af_morphology import MORPHOLOGY_FEATURE_NAMES, morphology_between
from edge.signals.rpeaks import detect_r_peaks
from edge.signals.rr_features import FEATURE_NAMES, MIN_BEATS, rr_window_features
from tools.evaluation.rpeaks import resample
from tools.modelkit.export import DenseLayer, export_mlp, forward

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_MODELS_DIR = REPO_ROOT / "models"
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "af_rr": FEATURE_NAMES,
    "af_ecg": FEATURE_NAMES + MORPHOLOGY_FEATURE_NAMES,
}
CINC_FS = 300.0
STRAP_FS = 130.0  # Polar H10
# The sampling rates at which each model's training records are windowed.
TRAINING_RATES: dict[str, tuple[float, ...]] = {"af_rr": (CINC_FS,), "af_ecg": (CINC_FS, STRAP_FS)}
# af_ecg 1.2: morphology on a fixed time grid, trained at 300 and 130 Hz.
MODEL_VERSIONS = {"af_rr": "1.1.0", "af_ecg": "1.2.0"}
WINDOW_BEATS = 30
WINDOW_STEP = 5
SEED = 20170
OUTER_FOLDS = 5
INNER_FOLDS = 4
_THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
WINDOW_F1_SLACK = 0.02
# The INT8 exports are calibrated on the training rows bounded to this many standard deviations
# of each feature: all features share one INT8 input range, and the tail of one
# (log_min_max_ratio reaches 5) would coarsen every other. Inputs beyond it saturate. (3.5 made
# an MLP's INT8 export fail the exporter's check.)
CALIBRATION_BOUND = 4.0

ATTRIBUTION = (
    "Trained and measured on the PhysioNet/Computing in Cardiology Challenge 2017 data: Clifford "
    "GD, Liu C, Moody B, Lehman L, Silva I, Li Q, Johnson AE, Mark RG. \"AF Classification from a "
    "Short Single Lead ECG Recording: the PhysioNet/Computing in Cardiology Challenge 2017.\" "
    "Computing in Cardiology 44 (2017). False-alarm figures on the MIT-BIH Arrhythmia Database: "
    "Moody GB, Mark RG. \"The impact of the MIT-BIH Arrhythmia Database.\" IEEE Eng in Med and "
    "Biol 20(3):45-50 (2001). Goldberger AL et al. \"PhysioBank, PhysioToolkit, and PhysioNet.\" "
    "Circulation 101(23):e215-e220 (2000). Both data sets are under the Open Data Commons "
    "Attribution License v1.0 (ODC-By)."
)


@dataclass(frozen=True)
class Recording:
    name: str
    label: str  # N, A, O or ~ for cinc2017; the models' target is label == "A"
    signal_mv: FloatArray
    fs: float
    r_peaks: NDArray[np.intp]

    @property
    def rr_s(self) -> FloatArray:
        rr: FloatArray = np.diff(self.r_peaks).astype(np.float64) / self.fs
        return rr


@dataclass(frozen=True)
class WindowTable:
    features: FloatArray  # (windows, len(FEATURE_NAMES))
    is_af: BoolArray  # (windows,), the record's label
    record: NDArray[np.intp]  # (windows,), index into the record list


@dataclass(frozen=True)
class FittedModel:
    kind: str
    layers: list[DenseLayer]
    mean: FloatArray
    scale: FloatArray
    window_threshold: float
    record_threshold: float

    def predict(self, features: FloatArray) -> FloatArray:
        standardized = ((features - self.mean) / self.scale).astype(np.float32)
        probabilities: FloatArray = forward(self.layers, standardized)[:, 0].astype(np.float64)
        return probabilities


@dataclass(frozen=True)
class CvResult:
    window_probability: FloatArray  # out-of-fold, per window of the table
    record_probability: FloatArray  # out-of-fold, per record
    window_threshold: FloatArray  # per window: its fold's threshold
    record_threshold: FloatArray  # per record: its fold's threshold
    fold_of_record: NDArray[np.intp]
    fold_models: list[FittedModel]


def recording(name: str, label: str, header: Path, *, verify: bool = True) -> Recording:
    record = read_record(header, verify=verify)
    peaks = np.asarray(detect_r_peaks(record.signal_mv, record.fs), dtype=np.intp)
    return Recording(name, label, record.signal_mv, record.fs, peaks)


def read_cinc(data_dir: Path) -> list[Recording]:
    folder = data_dir / "cinc2017"
    with (folder / "REFERENCE.csv").open(newline="") as reference:
        labels = [(row[0], row[1]) for row in csv.reader(reference) if row]
    records = []
    for name, label in labels:
        # Some cinc2017 headers carry an initial value that differs from the first sample, as
        # published; the signals themselves are sound.
        records.append(recording(name, label, folder / f"{name}.hea", verify=False))
    return records


def at_rate(records: Sequence[Recording], fs: float) -> list[Recording]:
    """The records resampled to `fs`, with R peaks detected anew at that rate."""
    resampled = []
    for original in records:
        signal = resample(original.signal_mv, Fraction(fs) / Fraction(original.fs))
        peaks = np.asarray(detect_r_peaks(signal, fs), dtype=np.intp)
        resampled.append(Recording(original.name, original.label, signal, fs, peaks))
    return resampled


def _spans_within(first: int, stop: int, beats: int, step: int) -> list[slice]:
    intervals = stop - first
    if intervals < MIN_BEATS:
        return []
    if intervals <= beats:
        return [slice(first, stop)]
    return [slice(start, start + beats) for start in range(first, stop - beats + 1, step)]


def window_spans(rr_s: FloatArray, beats: int, step: int) -> list[slice]:
    """Windows of `beats` intervals every `step`, as edge.detect.af.AfDetector takes them: never
    across an implausible interval; a shorter stretch is one window, if long enough."""
    plausible = np.concatenate(([False], (rr_s >= MIN_RR_S) & (rr_s <= MAX_RR_S), [False]))
    edges = np.flatnonzero(np.diff(plausible.astype(np.int8)))
    return [span for first, stop in zip(edges[::2], edges[1::2], strict=True)
            for span in _spans_within(int(first), int(stop), beats, step)]


def window_features(recording: Recording, span: slice, model_name: str) -> FloatArray:
    """The features of `model_name` for the RR intervals `span` of a recording."""
    rr = rr_window_features(recording.rr_s[span])
    if model_name == "af_rr":
        return rr
    morphology = morphology_between(recording.signal_mv, recording.fs, recording.r_peaks,
                                    int(recording.r_peaks[span.start]),
                                    int(recording.r_peaks[span.stop]))
    return np.concatenate((rr, morphology))


def window_table(records: Sequence[Recording], model_name: str, beats: int = WINDOW_BEATS,
                 step: int = WINDOW_STEP) -> WindowTable:
    features, is_af, record = [], [], []
    for index, labelled in enumerate(records):
        for span in window_spans(labelled.rr_s, beats, step):
            features.append(window_features(labelled, span, model_name))
            is_af.append(labelled.label == "A")
            record.append(index)
    return WindowTable(np.array(features).reshape(-1, len(FEATURE_SETS[model_name])),
                       np.array(is_af, dtype=bool), np.array(record, dtype=np.intp))


def training_table(model_name: str, versions: Mapping[float, Sequence[Recording]]) -> WindowTable:
    """The windows of the records at each of the model's TRAINING_RATES (`versions` holds the
    same records, in the same order, at each rate), numbered by record."""
    tables = [window_table(versions[fs], model_name) for fs in TRAINING_RATES[model_name]]
    return WindowTable(np.concatenate([t.features for t in tables]),
                       np.concatenate([t.is_af for t in tables]),
                       np.concatenate([t.record for t in tables]))


def record_means(window_values: FloatArray, record: NDArray[np.intp], n_records: int) -> FloatArray:
    """Mean of each record's window values; 0 (not AF) for a record too short for any window."""
    totals = np.bincount(record, weights=window_values, minlength=n_records)
    counts = np.bincount(record, minlength=n_records)
    means: FloatArray = np.divide(totals, counts, out=np.zeros(n_records), where=counts > 0)
    return means


def scores(truth: BoolArray, called: BoolArray) -> dict[str, float]:
    """Sensitivity, specificity, PPV and F1 of AF against not-AF, with the counts."""
    tp = int(np.count_nonzero(truth & called))
    fp = int(np.count_nonzero(~truth & called))
    fn = int(np.count_nonzero(truth & ~called))
    tn = int(np.count_nonzero(~truth & ~called))
    return {
        "sensitivity": tp / max(tp + fn, 1),
        "specificity": tn / max(tn + fp, 1),
        "ppv": tp / max(tp + fp, 1),
        "f1": 2 * tp / max(2 * tp + fp + fn, 1),
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
    }


def best_threshold(truth: BoolArray, probability: FloatArray) -> float:
    """The grid threshold with the highest F1; ties go to the middle of the best run."""
    f1 = np.array([scores(truth, probability >= t)["f1"] for t in _THRESHOLD_GRID])
    best = np.flatnonzero(f1 == f1.max())
    return float(_THRESHOLD_GRID[best[len(best) // 2]])


def cautious_threshold(truth: BoolArray, probability: FloatArray) -> float:
    """The highest grid threshold whose F1 is within WINDOW_F1_SLACK of the best. Window F1
    changes little over a wide range of thresholds, and window calls raise the streaming AF
    alarms: of nearly equal thresholds, the one with the fewest false alarms."""
    f1 = np.array([scores(truth, probability >= t)["f1"] for t in _THRESHOLD_GRID])
    return float(_THRESHOLD_GRID[np.flatnonzero(f1 >= f1.max() - WINDOW_F1_SLACK)[-1]])


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=5000)


def _mlp() -> MLPClassifier:
    # Weight decay strong enough that the INT8 export stays within the exporter's tolerance.
    return MLPClassifier(hidden_layer_sizes=(16,), alpha=1e-1, max_iter=3000, random_state=SEED)


CANDIDATES: dict[str, Callable[[], Any]] = {"logistic": _logistic, "mlp16": _mlp}


def _dense_layers(estimator: Any) -> list[DenseLayer]:
    if isinstance(estimator, LogisticRegression):
        return [DenseLayer(estimator.coef_.T.astype(np.float32),
                           estimator.intercept_.astype(np.float32), "sigmoid")]
    hidden = len(estimator.coefs_) - 1
    return [
        DenseLayer(weights.astype(np.float32), bias.astype(np.float32),
                   "relu" if index < hidden else "sigmoid")
        for index, (weights, bias) in enumerate(zip(estimator.coefs_, estimator.intercepts_,
                                                    strict=True))
    ]


def fit(kind: str, table: WindowTable, window_threshold: float = 0.5,
        record_threshold: float = 0.5) -> FittedModel:
    scaler = StandardScaler().fit(table.features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = CANDIDATES[kind]().fit(scaler.transform(table.features), table.is_af)
    return FittedModel(kind, _dense_layers(estimator), scaler.mean_, scaler.scale_,
                       window_threshold, record_threshold)


def _folds(record_is_af: BoolArray, n_splits: int) -> list[tuple[NDArray[np.intp],
                                                                  NDArray[np.intp]]]:
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=SEED)
    return list(splitter.split(np.zeros(len(record_is_af)), record_is_af))


def _out_of_fold(kind: str, table: WindowTable, record_is_af: BoolArray,
                 n_splits: int) -> FloatArray:
    probability = np.zeros(len(table.is_af))
    for train, test in _folds(record_is_af, n_splits):
        test_rows = np.isin(table.record, test)
        model = fit(kind, _subset(table, train))
        probability[test_rows] = model.predict(table.features[test_rows])
    return probability


def select_and_fit(table: WindowTable, record_is_af: BoolArray) -> FittedModel:
    """Picks the candidate and thresholds by CV over these records, then fits on all of them.

    `table.record` indexes `record_is_af`: records with no window count as called not-AF."""
    best: tuple[float, str, float, float] | None = None
    for kind in CANDIDATES:
        window_p = _out_of_fold(kind, table, record_is_af, INNER_FOLDS)
        record_p = record_means(window_p, table.record, len(record_is_af))
        record_t = best_threshold(record_is_af, record_p)
        f1 = scores(record_is_af, record_p >= record_t)["f1"]
        if best is None or f1 > best[0]:
            best = (f1, kind, cautious_threshold(table.is_af, window_p), record_t)
    assert best is not None
    _, kind, window_t, record_t = best
    return fit(kind, table, window_t, record_t)


def _subset(table: WindowTable, records: NDArray[np.intp]) -> WindowTable:
    """The windows of these records, renumbered 0..len(records)-1 in the given order."""
    rows = np.isin(table.record, records)
    renumber = np.full(table.record.max(initial=0) + 1, -1, dtype=np.intp)
    renumber[records] = np.arange(len(records))
    return WindowTable(table.features[rows], table.is_af[rows], renumber[table.record[rows]])


def cross_validate(table: WindowTable, record_is_af: BoolArray,
                   tests: Sequence[WindowTable]) -> list[CvResult]:
    """Out-of-fold results on each of `tests` (windows of the same records, such as at one
    sampling rate), each fold's model chosen and fitted on `table`'s windows of its training
    records."""
    n_records = len(record_is_af)
    folds = _folds(record_is_af, OUTER_FOLDS)
    models = [select_and_fit(_subset(table, train), record_is_af[train]) for train, _ in folds]
    record_t = np.zeros(n_records)
    fold_of_record = np.zeros(n_records, dtype=np.intp)
    for fold, ((_, test), model) in enumerate(zip(folds, models, strict=True)):
        record_t[test] = model.record_threshold
        fold_of_record[test] = fold
    results = []
    for test_table in tests:
        fold_of_window = fold_of_record[test_table.record]
        window_p, window_t = np.zeros(len(test_table.is_af)), np.zeros(len(test_table.is_af))
        for fold, model in enumerate(models):
            rows = fold_of_window == fold
            window_p[rows] = model.predict(test_table.features[rows])
            window_t[rows] = model.window_threshold
        results.append(CvResult(window_p, record_means(window_p, test_table.record, n_records),
                                window_t, record_t, fold_of_record, models))
    return results


def export(model_name: str, model: FittedModel, table: WindowTable, out_dir: Path,
           card: dict[str, Any]) -> Path:
    bound = CALIBRATION_BOUND * model.scale
    return export_mlp(
        name=model_name, version=MODEL_VERSIONS[model_name], layers=model.layers,
        feature_names=list(FEATURE_SETS[model_name]), feature_mean=model.mean,
        feature_scale=model.scale,
        representative=np.clip(table.features, model.mean - bound, model.mean + bound),
        output_names=["af"],
        thresholds={"af": model.window_threshold, "af_record": model.record_threshold},
        card=card, out_dir=out_dir)


_TASKS = {
    "af_rr": "atrial fibrillation against any other rhythm, from a window of RR intervals",
    "af_ecg": "atrial fibrillation against any other rhythm, from a window of single-lead ECG: "
              "its RR intervals and the morphology of its beats",
}


def training_card(model_name: str, model: FittedModel,
                  records: Sequence[Recording]) -> dict[str, Any]:
    return {
        "task": _TASKS[model_name],
        "model_kind": model.kind,
        "window_beats": WINDOW_BEATS,
        "window_step_beats": WINDOW_STEP,
        "training_records": len(records),
        "training_data": "cinc2017 (PhysioNet/CinC Challenge 2017, validation subset)",
        "r_peaks": "edge.signals.rpeaks.detect_r_peaks on edge.records.wfdb.read_record",
        "attribution": ATTRIBUTION,
        "model_card": "MODEL_CARD.md",
    }


def train_and_export(data_dir: Path, models_dir: Path) -> list[Path]:
    records = read_cinc(data_dir)
    versions = {CINC_FS: records, STRAP_FS: at_rate(records, STRAP_FS)}
    record_is_af = np.array([r.label == "A" for r in records])
    manifests = []
    for model_name in FEATURE_SETS:
        table = training_table(model_name, versions)
        model = select_and_fit(table, record_is_af)
        manifests.append(export(model_name, model, table, models_dir / model_name,
                                training_card(model_name, model, records)))
    return manifests


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    args = parser.parse_args(argv)
    for manifest in train_and_export(args.data_dir, args.models):
        print(f"wrote {manifest}")


if __name__ == "__main__":
    main()
