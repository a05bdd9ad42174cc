"""Every detector figure in the model cards and docs, from the recordings, in one run.

    python -m tools.evaluate [DATA_DIR] [--out models/evaluation.json]

Runs tools/evaluation/{rpeaks,af,pvc,quality}.py on DATA_DIR (default ../shared/data), prints a
summary, and writes all their figures, with one row per record and figure for
`tools/audit.py`, to the output file. Needs the `train` extra (`make evaluate`).
"""

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tools.evaluation.af import evaluate_af
from tools.evaluation.pvc import evaluate_pvc
from tools.evaluation.quality import NOISY, assess_all, evaluate_quality
from tools.evaluation.rpeaks import evaluate_rpeaks

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
DEFAULT_MODELS_DIR = REPO / "models"
# The data's README sorts the mitdb records by their PVCs: 106, 116 and 200 are PVC-rich.
PVC_RICH = {"106", "116", "200"}
# The classifier whose figures the PVC model card leads with.
PVC_CLASSIFIER = "litert_int8_gated"


def evaluate(data_dir: Path, models_dir: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "data_dir": str(data_dir),
        "r_peaks": evaluate_rpeaks(data_dir),
        "af": evaluate_af(data_dir, models_dir),
        "pvc": evaluate_pvc(data_dir, models_dir),
        "quality": evaluate_quality(data_dir, models_dir),
    }
    rows = [*_r_peak_rows(figures["r_peaks"]), *_pvc_rows(figures["pvc"]),
            *_quality_rows(data_dir), *_af_rows(figures["af"])]
    return figures | {"audit_rows": rows}


def _mitdb_groups(record: str) -> dict[str, str]:
    return {"record": record, "pvcs": "pvc-rich" if record in PVC_RICH else "pvc-poor"}


def _r_peak_rows(figures: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for rate, results in figures["rates_hz"].items():
        for record, counts in results["records"].items():
            yield {"figure": f"r_peaks_{rate}hz", "record": record,
                   "counts": {key: counts[key] for key in ("tp", "fn", "fp")},
                   "groups": _mitdb_groups(record)}


def _pvc_rows(figures: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for record, results in figures["per_record"].items():
        counts = results[PVC_CLASSIFIER]
        # A PVC our R-peak detector never found is a PVC missed.
        missed = counts["fn"] + counts["missed_by_detector"]
        yield {"figure": f"pvc_{PVC_CLASSIFIER}", "record": record,
               "counts": {"tp": counts["tp"], "fn": missed, "fp": counts["fp"]},
               "groups": _mitdb_groups(record)}


def _quality_rows(data_dir: Path) -> Iterator[dict[str, Any]]:
    """Noisy (`~`) records flagged unusable are true positives; other records flagged are
    false positives."""
    for assessed in assess_all(data_dir):
        recording = assessed.recording
        label = recording.label
        flagged = not assessed.usable
        key = ("tp" if flagged else "fn") if label == NOISY else ("fp" if flagged else "tn")
        counts = {"tp": 0, "fn": 0, "fp": 0, "tn": 0} | {key: 1}
        yield {"figure": "noisy_record", "record": recording.name, "counts": counts,
               "groups": {"rhythm": label,
                          "length": _length_band(recording.signal_mv.size / recording.fs)}}


def _af_rows(figures: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each cinc2017 record's out-of-fold call, per model."""
    for model, results in figures["models"].items():
        for call in results["cv_per_record"]["calls"]:
            af, called = call["label"] == "A", call["called_af"]
            key = ("tp" if called else "fn") if af else ("fp" if called else "tn")
            yield {"figure": f"af_record_{model}", "record": call["record"],
                   "counts": {"tp": 0, "fn": 0, "fp": 0, "tn": 0} | {key: 1},
                   "groups": {"rhythm": call["label"], "length": _length_band(call["seconds"])}}


def _length_band(seconds: float) -> str:
    return "under 30 s" if seconds < 29.5 else "30 s" if seconds <= 30.5 else "over 30 s"


def summary(figures: Mapping[str, Any]) -> str:
    r_peaks = figures["r_peaks"]["rates_hz"]
    lines = ["R peaks on mitdb (150 ms):"]
    for rate, results in r_peaks.items():
        overall = results["overall"]
        lines.append(f"  {rate} Hz: Se {overall['sensitivity']:.2%}, "
                     f"+P {overall['positive_predictivity']:.2%}")
    pvc = figures["pvc"]["overall"][PVC_CLASSIFIER]
    lines.append(f"PVC beats, leave-one-record-out ({PVC_CLASSIFIER}): Se {pvc['se']:.2%}, "
                 f"+P {pvc['ppv']:.2%}")
    lines.append(f"Noisy records flagged (recall of ~): "
                 f"{figures['quality']['noisy_recall']['all']:.2%}")
    for model, results in figures["af"]["models"].items():
        record = results["cv_float"]["record"]
        lines.append(f"AF, {model}, per record under CV: Se {record['sensitivity']:.2%}, "
                     f"Sp {record['specificity']:.2%}, F1 {record['f1']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODELS_DIR / "evaluation.json")
    args = parser.parse_args(argv)
    if not (args.data_dir / "mitdb").is_dir() or not (args.data_dir / "cinc2017").is_dir():
        print(f"evaluate: {args.data_dir} must hold mitdb/ and cinc2017/", file=sys.stderr)
        return 2
    figures = evaluate(args.data_dir, args.models)
    args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(summary(figures))
    print(f"all figures: {args.out}; per subgroup: python tools/audit.py {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
