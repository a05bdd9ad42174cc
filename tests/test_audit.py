import math

import pytest

from tools.audit import audit, wilson


def test_wilson_interval_matches_the_published_formula() -> None:
    # Newcombe (1998), table I: 0/10 -> 0 to 0.2775; 81/263 -> 0.2553 to 0.3662.
    none = wilson(0, 10)
    assert (none.value, none.low) == (0.0, 0.0)
    assert none.high == pytest.approx(0.2775, abs=1e-4)
    some = wilson(81, 263)
    assert some.low == pytest.approx(0.2553, abs=1e-4)
    assert some.high == pytest.approx(0.3662, abs=1e-4)
    assert math.isnan(wilson(0, 0).value)


def row(record: str, tp: int, fn: int, rhythm: str) -> dict[str, object]:
    return {"figure": "af_records", "record": record, "counts": {"tp": tp, "fn": fn},
            "groups": {"record": record, "rhythm": rhythm}}


def test_a_subgroup_far_behind_the_whole_is_flagged_and_a_small_one_is_not() -> None:
    rows = [row("a", 950, 50, "N"), row("b", 940, 60, "N"), row("c", 60, 40, "O"),
            row("d", 2, 1, "O")]
    results = {(r.grouping, r.subgroup): r for r in audit(rows, gap=0.05)
               if r.metric == "sensitivity"}
    assert results[("rhythm", "O")].flagged
    assert not results[("rhythm", "N")].flagged
    # Two of three is behind the whole, but three beats are no evidence of a gap.
    assert not results[("record", "d")].flagged
    assert results[("record", "a")].overall.count == 2103
    assert {r.metric for r in audit(rows, 0.05)} == {"sensitivity"}


def test_positive_predictivity_is_left_out_where_a_subgroup_has_nothing_to_find() -> None:
    rows = [{"figure": "af", "record": "a", "counts": {"tp": 0, "fn": 0, "fp": 2, "tn": 8},
             "groups": {"rhythm": "N"}},
            {"figure": "af", "record": "b", "counts": {"tp": 9, "fn": 1, "fp": 1, "tn": 0},
             "groups": {"rhythm": "A"}}]
    results = {(r.metric, r.subgroup) for r in audit(rows, gap=0.05)}
    assert ("positive_predictivity", "A") in results
    assert ("positive_predictivity", "N") not in results
    assert ("specificity", "N") in results
