"""Irregularity features of a short window of RR intervals, for atrial fibrillation detection.

A window holds 8 to 60 intervals, in seconds. Ectopic beats in sinus rhythm make one or two
short intervals followed by a long one; `merge_runs` replaces each such run by its mean, and
every feature is computed on the merged series, so that premature beats (isolated, couplets,
bigeminy) do not look like AF while AF's irregularity, which is not made of such runs, mostly
stays. Besides spread and entropy, three describe the shape of the distribution: the shortest
against the longest interval, how widely successive differences scatter (Poincare cells) and
the entropy of the RR histogram. Deliberately no feature counts the merged runs: in short AF
windows many random short-long pairs look like ectopy, and a model would learn that ectopy
means AF.

Every feature has a bounded or logarithmic range: an INT8 model has one input scale for all
features, and the spread ratios of noisy windows would otherwise stretch it for all of them.
"""

import functools
import itertools
import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

FEATURE_NAMES: Final = (
    "median_rr_s",
    "log_nrmssd_filtered",
    "log_median_abs_sd_norm",
    "pnn_8pct",
    "sample_entropy",
    "coefficient_of_sample_entropy",
    "turning_point_ratio",
    "sd1_share",
    "log_cv_filtered",
    "log_iqr_norm",
    "lag2_lag1_ratio",
    "log_min_max_ratio",
    "poincare_cell_share",
    "histogram_entropy",
)

MIN_BEATS: Final = 8
MAX_BEATS: Final = 60

# An interval this much shorter than its local upper quartile is premature ...
_PREMATURE_FRACTION: Final = 0.85
# ... and ectopic when the next interval is longer than the local median by this much.
_COMPENSATORY_FRACTION: Final = 1.05
# The local reference of an interval: the 8 around it (an even count, so that in bigeminy the
# median sits between the short and the long interval).
_LOCAL_BEATS: Final = 8
# Lake & Moorman 2011: a fixed 30 ms tolerance makes sample entropy comparable between windows.
_ENTROPY_TOLERANCE_S: Final = 0.03
_PNN_FRACTION: Final = 0.08
# Successive-difference Poincare plot cells (after Sarkar 2008's AF evidence): AF scatters the
# points (dRR_i, dRR_i+1) over many 40 ms cells, sinus rhythm keeps them in a few.
_POINCARE_CELL_S: Final = 0.04
# RR distribution entropy: 16 bins of RR / median from 0.5 to 1.5 (values beyond go to the end
# bins), normalised by log(16) to 0..1.
_HISTOGRAM_BINS: Final = 16
_HISTOGRAM_RANGE: Final = (0.5, 1.5)
# Spread ratios below this (1 %) are all regular to AF detection (log10(0) is not finite, and
# a long tail of tiny values would stretch an INT8 input scale).
_LOG_FLOOR: Final = 1e-2


@functools.cache
def _window_indices(length: int, beats: int) -> NDArray[np.intp]:
    starts = np.clip(np.arange(length) - beats // 2, 0, max(length - beats, 0))
    indices: NDArray[np.intp] = np.minimum(starts[:, None] + np.arange(beats), length - 1)
    return indices


def local_quantiles(rr_s: FloatArray,
                    beats: int = _LOCAL_BEATS) -> tuple[FloatArray, FloatArray]:
    """Running median and upper quartile over `beats` intervals around each one (from
    beats // 2 before it); near the ends the window stops at the end instead of running over."""
    ascending = np.sort(rr_s[_window_indices(len(rr_s), beats)], axis=1)
    median: FloatArray = (ascending[:, (beats - 1) // 2] + ascending[:, beats // 2]) / 2
    upper_position = 0.75 * (beats - 1)
    below = int(upper_position)
    upper: FloatArray = ascending[:, below] + (upper_position - below) * (
        ascending[:, below + 1] - ascending[:, below])
    return median, upper


def ectopic_runs(rr_s: FloatArray) -> list[tuple[int, int]]:
    """(start, length) of each run of one or two premature intervals and the pause after it.

    Premature is much shorter than the local upper quartile (in bigeminy the median sits
    halfway between the short and the long intervals); a pause is longer than the local
    median. Runs never overlap."""
    median, upper = local_quantiles(rr_s)
    premature = rr_s < _PREMATURE_FRACTION * upper
    paused = rr_s > _COMPENSATORY_FRACTION * median
    single = premature[:-1] & paused[1:]
    couplet = np.zeros_like(single)
    couplet[:-1] = premature[:-2] & premature[1:-1] & paused[2:]
    runs: list[tuple[int, int]] = []
    free_from = 0
    for start in np.flatnonzero(single | couplet).tolist():
        if start >= free_from:
            length = 2 if single[start] else 3
            runs.append((start, length))
            free_from = start + length
    return runs


def merge_runs(rr_s: FloatArray, runs: list[tuple[int, int]]) -> FloatArray:
    """The series with the intervals of each run replaced by copies of their mean."""
    merged = rr_s.copy()
    if not runs:
        return merged
    starts, lengths = np.array(runs).T
    first_of_run = np.cumsum(lengths) - lengths
    members = np.repeat(starts - first_of_run, lengths) + np.arange(lengths.sum())
    means = np.add.reduceat(rr_s[members], first_of_run) / lengths
    merged[members] = np.repeat(means, lengths)
    return merged


def sample_entropy(rr_s: FloatArray, tolerance_s: float = _ENTROPY_TOLERANCE_S) -> float:
    """Sample entropy with template length 1; counts get +1 so short windows stay finite."""
    close = np.abs(rr_s[:-1, None] - rr_s[None, :-1]) <= tolerance_s
    templates = len(rr_s) - 1
    pairs_m1 = (np.count_nonzero(close) - templates) / 2
    both = close[:-1, :-1] & close[1:, 1:]
    pairs_m2 = (np.count_nonzero(both) - (templates - 1)) / 2
    return math.log((pairs_m1 + 1) / (pairs_m2 + 1))


def _quantile_of_sorted(ascending: FloatArray, q: float) -> float:
    """Linear-interpolated quantile, as np.quantile, of an already sorted array."""
    position = q * (len(ascending) - 1)
    below = int(position)
    above = min(below + 1, len(ascending) - 1)
    return float(ascending[below] + (position - below) * (ascending[above] - ascending[below]))


def _rms(values: FloatArray) -> float:
    return math.sqrt(float(np.dot(values, values)) / len(values))


def _turning_point_ratio(diffs: FloatArray) -> float:
    """Share of changes of direction; a merged run's equal intervals have no direction."""
    moving = diffs[diffs != 0]
    return np.count_nonzero(moving[:-1] * moving[1:] < 0) / max(len(moving) - 1, 1)


def poincare_cell_share(diffs: FloatArray) -> float:
    """Distinct cells of the plot of each successive difference against the next, per point."""
    cells = np.floor(diffs / _POINCARE_CELL_S).astype(np.int64).tolist()
    return len(set(itertools.pairwise(cells))) / (len(diffs) - 1)


def histogram_entropy(rr_s: FloatArray, median_rr: float) -> float:
    """Shannon entropy of the histogram of RR / median, normalised to 0..1."""
    low, high = _HISTOGRAM_RANGE
    ratios = np.clip(rr_s / median_rr, low, high)
    bins = np.minimum(((ratios - low) * (_HISTOGRAM_BINS / (high - low))).astype(np.intp),
                      _HISTOGRAM_BINS - 1)
    counts = np.bincount(bins, minlength=_HISTOGRAM_BINS)
    shares = counts[counts > 0] / len(rr_s)
    return float(-(shares * np.log(shares)).sum() / math.log(_HISTOGRAM_BINS))


def _log10(ratio: float) -> float:
    return math.log10(max(ratio, _LOG_FLOOR))


def rr_window_features(rr_s: FloatArray) -> FloatArray:
    """The features named in FEATURE_NAMES, for MIN_BEATS to MAX_BEATS intervals in seconds."""
    if not MIN_BEATS <= len(rr_s) <= MAX_BEATS:
        raise ValueError(f"need {MIN_BEATS} to {MAX_BEATS} RR intervals, got {len(rr_s)}")
    merged = merge_runs(rr_s, ectopic_runs(rr_s))
    ascending = np.sort(merged)
    median_rr = _quantile_of_sorted(ascending, 0.5)
    mean_rr = float(merged.mean())
    diffs = np.diff(merged)
    abs_diffs = np.abs(diffs)
    rmssd = _rms(diffs)
    # Poincare plot: spread across the identity line (SD1) and along it (SD2).
    sd1 = rmssd / math.sqrt(2)
    sums = merged[1:] + merged[:-1]
    sd2 = _rms(sums - float(sums.mean())) / math.sqrt(2)
    entropy = sample_entropy(merged)
    return np.array(
        [
            median_rr,
            _log10(rmssd / mean_rr),
            _log10(_quantile_of_sorted(np.sort(abs_diffs), 0.5) / median_rr),
            np.count_nonzero(abs_diffs > _PNN_FRACTION * median_rr) / len(diffs),
            entropy,
            entropy - math.log(2 * _ENTROPY_TOLERANCE_S) - math.log(mean_rr),
            _turning_point_ratio(diffs),
            sd1 / max(sd1 + sd2, 1e-9),
            _log10(_rms(merged - mean_rr) / mean_rr),
            _log10((_quantile_of_sorted(ascending, 0.75) - _quantile_of_sorted(ascending, 0.25))
                   / median_rr),
            _rms(merged[2:] - merged[:-2]) / max(rmssd, 1e-6),
            _log10(float(ascending[0] / ascending[-1])),
            poincare_cell_share(diffs),
            histogram_entropy(merged, median_rr),
        ]
    )
