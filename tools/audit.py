"""Every detector figure per subgroup, with 95 % confidence intervals, flagging subgroups that
fall behind the whole by more than a threshold.

    python tools/audit.py [EVALUATION_JSON] [--gap 0.05] [--json]

Reads what `tools/evaluate.py --out FILE` wrote (default `models/evaluation.json`): for each
figure, one row per record with its counts (tp, fn, fp, tn) and the groups the data set gives it
(the record itself, its rhythm class, its length band, its share of PVCs). The data at hand carry
no sex, age or device model, so those cannot be audited; the model cards say so.
"""

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_EVALUATION = Path(__file__).resolve().parent.parent / "models" / "evaluation.json"
# z for a two-sided 95 % interval.
_Z = 1.959964
# Each metric: (name, counts that make the numerator, counts that make the denominator).
METRICS = (
    ("sensitivity", ("tp",), ("tp", "fn")),
    ("positive_predictivity", ("tp",), ("tp", "fp")),
    ("specificity", ("tn",), ("tn", "fp")),
)


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    low: float
    high: float
    count: int


@dataclass(frozen=True, slots=True)
class SubgroupFigure:
    figure: str
    metric: str
    grouping: str
    subgroup: str
    estimate: Estimate
    overall: Estimate
    flagged: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure, "metric": self.metric, "grouping": self.grouping,
            "subgroup": self.subgroup, "value": self.estimate.value,
            "ci95": [self.estimate.low, self.estimate.high], "n": self.estimate.count,
            "overall": self.overall.value, "flagged": self.flagged,
        }


def wilson(successes: int, total: int) -> Estimate:
    """The Wilson score interval: honest at small counts and at 0 % or 100 %."""
    if total == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    share = successes / total
    denominator = 1 + _Z**2 / total
    centre = (share + _Z**2 / (2 * total)) / denominator
    half = _Z * math.sqrt(share * (1 - share) / total + _Z**2 / (4 * total**2)) / denominator
    return Estimate(share, max(centre - half, 0.0), min(centre + half, 1.0), total)


def _pooled(rows: Iterable[Mapping[str, Any]], numerator: Sequence[str],
            denominator: Sequence[str]) -> Estimate:
    # A row that lacks a count did not measure the metric (no tn where there are no negatives).
    counts = [row["counts"] for row in rows if all(key in row["counts"] for key in denominator)]
    successes = sum(int(c[key]) for c in counts for key in numerator)
    total = sum(int(c[key]) for c in counts for key in denominator)
    return wilson(successes, total)


def audit(rows: Sequence[Mapping[str, Any]], gap: float) -> list[SubgroupFigure]:
    """A subgroup is flagged when its estimate is more than `gap` below the whole's and the
    whole's estimate lies above its confidence interval (a gap chance alone hardly explains)."""
    results = []
    for figure in sorted({row["figure"] for row in rows}):
        of_figure = [row for row in rows if row["figure"] == figure]
        for metric, numerator, denominator in METRICS:
            overall = _pooled(of_figure, numerator, denominator)
            if overall.count == 0:
                continue
            for grouping, subgroup, members in _subgroups(of_figure):
                estimate = _pooled(members, numerator, denominator)
                if estimate.count == 0 or not _has_positives(members, metric):
                    continue
                flagged = (overall.value - estimate.value > gap
                           and estimate.high < overall.value)
                results.append(SubgroupFigure(figure, metric, grouping, subgroup, estimate,
                                              overall, flagged))
    return results


def _has_positives(rows: Sequence[Mapping[str, Any]], metric: str) -> bool:
    """Positive predictivity means nothing in a subgroup that holds no true positives to find
    (AF calls among the normal records are all false, whatever the detector)."""
    if metric != "positive_predictivity":
        return True
    return sum(int(row["counts"].get("tp", 0)) + int(row["counts"].get("fn", 0))
               for row in rows) > 0


def _subgroups(rows: Sequence[Mapping[str, Any]],
               ) -> Iterable[tuple[str, str, list[Mapping[str, Any]]]]:
    groupings = sorted({name for row in rows for name in row["groups"]})
    for grouping in groupings:
        values = sorted({str(row["groups"][grouping]) for row in rows if grouping in row["groups"]})
        for value in values:
            yield grouping, value, [row for row in rows
                                    if str(row["groups"].get(grouping)) == value]


def card_section(groupings: str) -> list[str]:
    """What a model card says about its subgroups: where to find them, and what the data at
    hand cannot show."""
    return [
        "## Subgroups",
        "",
        "`python -m tools.evaluate`, then `python tools/audit.py`, gives every figure of this "
        f"card per {groupings}, with Wilson 95 % intervals, and flags a subgroup more than 5 "
        "points behind the whole whose interval lies below it. The data at hand carry no sex, "
        "age, skin type or body shape, and each set comes from one kind of device (cinc2017: "
        "AliveCor hand-held; mitdb: 1970s ambulatory recorders), so none of those could be "
        "audited; nor could a chest strap, whose 130 Hz was only simulated by resampling.",
        "",
    ]


def format_report(results: Sequence[SubgroupFigure], gap: float) -> str:
    lines = [f"Subgroup audit: flagged (!) where a subgroup is more than {gap:.0%} below the "
             "whole and the whole lies above its 95 % interval.", ""]
    header = (f"{'figure':<28} {'metric':<22} {'group':<16} {'subgroup':<14} "
              f"{'value':>7} {'95 % CI':>17} {'n':>7} {'whole':>7}")
    lines += [header, "-" * len(header)]
    for result in results:
        estimate = result.estimate
        lines.append(
            f"{result.figure:<28} {result.metric:<22} {result.grouping:<16} "
            f"{result.subgroup:<14} {estimate.value:>7.2%} "
            f"[{estimate.low:>6.1%}, {estimate.high:>6.1%}] {estimate.count:>7} "
            f"{result.overall.value:>7.2%}{'  !' if result.flagged else ''}")
    flagged = sum(result.flagged for result in results)
    lines += ["", f"{flagged} of {len(results)} subgroup figures flagged."]
    return "\n".join(lines)


def load_rows(path: Path) -> list[dict[str, Any]]:
    try:
        evaluation = json.loads(path.read_text(encoding="utf-8"))
        rows = evaluation["audit_rows"]
    except FileNotFoundError:
        raise SystemExit(f"audit: {path} not found; run tools/evaluate.py --out {path} first") \
            from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SystemExit(f"audit: {path} is not an evaluation file: {error}") from None
    if not isinstance(rows, list):
        raise SystemExit(f"audit: {path}: audit_rows must be a list")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("evaluation", nargs="?", type=Path, default=DEFAULT_EVALUATION)
    parser.add_argument("--gap", type=float, default=0.05,
                        help="flag subgroups this far below the whole (default 0.05)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    results = audit(load_rows(args.evaluation), args.gap)
    if args.json:
        print(json.dumps({"gap": args.gap, "subgroups": [r.as_dict() for r in results]}))
    else:
        print(format_report(results, args.gap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
