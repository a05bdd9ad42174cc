"""Ventricular ectopic beats (PVCs): per-beat labels, and the PVC burden over a period.

A beat classifier is any callable from feature rows (edge.signals.beats.FEATURE_NAMES) to a
PVC probability per row, such as `edge.inference.load_model(...).predict`. Without one, a rule
on the same features stands in: a beat unlike the patient's template that is also premature,
wide or flipped, and that is premature or lacks the template's P wave. `label_beats` does it all
for a stretch of ECG: features, calls, and no call at all in windows that edge.detect.quality
finds unusable; edge.detect.rhythm does the same on a live stream.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.detect.quality import QualitySettings, assess, usable_at
from edge.signals.beats import FEATURE_NAMES, IndexArray, beat_features

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
BeatClassifier = Callable[[npt.NDArray[np.float32]], npt.ArrayLike]

DEFAULT_THRESHOLD = 0.5
# The rule fallback's limits; a beat needs an unusual shape and one more sign of ectopy, and a
# beat that comes on time also needs to lack the P wave of the template.
RULE_MAX_QRS_CORRELATION = 0.8
RULE_MIN_LOG_RESIDUAL = 0.0
RULE_MAX_LOG_PREMATURITY = float(np.log(0.88))
RULE_MIN_LOG_WIDTH_RATIO = float(np.log(1.3))
RULE_MAX_P_WAVE_CORRELATION = 0.5

_COLUMN = {name: index for index, name in enumerate(FEATURE_NAMES)}


def rule_pvc(features: FloatArray) -> BoolArray:
    """PVC calls from the features alone, for when no model is loaded."""
    rows = np.asarray(features, dtype=np.float64)
    unlike_template = (rows[:, _COLUMN["qrs_correlation"]] < RULE_MAX_QRS_CORRELATION) & (
        rows[:, _COLUMN["log_residual_energy_ratio"]] > RULE_MIN_LOG_RESIDUAL
    )
    premature = rows[:, _COLUMN["log_rr_prev_ratio"]] < RULE_MAX_LOG_PREMATURITY
    wide = rows[:, _COLUMN["log_qrs_width_ratio"]] > RULE_MIN_LOG_WIDTH_RATIO
    flipped = rows[:, _COLUMN["polarity_agreement"]] < 0
    no_p_wave = rows[:, _COLUMN["p_wave_correlation"]] < RULE_MAX_P_WAVE_CORRELATION
    called: BoolArray = unlike_template & (premature | wide | flipped) & (premature | no_p_wave)
    return called


def classify_beats(
    features: FloatArray,
    model: BeatClassifier | None,
    threshold: float = DEFAULT_THRESHOLD,
) -> BoolArray:
    """True where a beat is a PVC: the model's probability at or above `threshold`, or the rule."""
    rows = np.asarray(features, dtype=np.float64)
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    if model is None:
        return rule_pvc(rows)
    probabilities = np.asarray(model(rows.astype(np.float32)), dtype=np.float64)
    called: BoolArray = probabilities.reshape(rows.shape[0], -1)[:, 0] >= threshold
    return called


@dataclass(frozen=True, slots=True)
class BeatLabels:
    r_peaks: IndexArray
    # False for every beat in an unusable window: those beats have no label.
    usable: BoolArray
    is_pvc: BoolArray


def label_beats(
    signal_mv: FloatArray,
    fs: float,
    r_peaks: IndexArray,
    model: BeatClassifier | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    quality: QualitySettings | None = None,
) -> BeatLabels:
    """PVC calls for the beats of a stretch of ECG, none where the signal is unusable."""
    peaks = np.asarray(r_peaks, dtype=np.int64)
    usable = usable_at(assess(signal_mv, fs, peaks, quality), peaks / fs)
    called = classify_beats(beat_features(signal_mv, fs, peaks), model, threshold)
    return BeatLabels(r_peaks=peaks, usable=usable, is_pvc=called & usable)


@dataclass(frozen=True, slots=True)
class PvcBurden:
    start: float
    end: float
    beats: int
    pvcs: int

    @property
    def burden(self) -> float | None:
        """Share of beats that were PVCs, from 0 to 1; None without beats."""
        return self.pvcs / self.beats if self.beats else None
