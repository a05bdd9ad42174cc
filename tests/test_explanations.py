"""Every event tells the patient what happened in everyday words: checked with the
Flesch-Kincaid grade-level formula, at most grade 8 (the target is about grade 6)."""

import re
import typing

import pytest

from edge.detect.vitals import EventCode
from edge.messages.explain import explain_rhythm, explain_vital


def syllables(word: str) -> int:
    """Vowel groups, less a silent final e: the usual estimate for readability formulas."""
    word = word.lower()
    groups = len(re.findall(r"[aeiouy]+", word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(1, groups)


def grade(text: str) -> float:
    sentences = max(1, len(re.findall(r"[.!?](\s|$)", text)))
    words = re.findall(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?", text)
    syllable_count = sum(syllables(w) if w.isalpha() else 2 for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllable_count / len(words) - 15.59


def test_the_formula_tells_simple_from_hard_text() -> None:
    assert grade("The cat sat on the mat. It was warm.") < 3
    assert grade("Paroxysmal atrial fibrillation necessitates anticoagulation evaluation, "
                 "considering individual thromboembolic susceptibility.") > 14


EXPLANATIONS = [
    *(explain_vital(code, phase, 141.5) for code in typing.get_args(EventCode)
      for phase in ("started", "ended")),
    explain_rhythm("started", None), explain_rhythm("ended", 14.2),
    explain_rhythm("ended", 0.4), explain_rhythm("ended", None),
]


@pytest.mark.parametrize("text", EXPLANATIONS)
def test_every_explanation_reads_at_grade_8_or_below(text: str) -> None:
    assert grade(text) <= 8.0, (text, grade(text))


def test_they_say_what_happened_and_that_the_care_team_knows() -> None:
    assert explain_vital("fever", "started", 38.9) == (
        "You have a fever. Your temperature was 38.9 degrees. Your care team has been told.")
    assert explain_rhythm("ended", 14.2) == (
        "Your heartbeat was not regular for 14 minutes. It is regular again now.")
    assert all("care team" in explain_vital(c, "started", 1.0)
               for c in typing.get_args(EventCode))
