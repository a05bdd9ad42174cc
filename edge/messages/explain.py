"""A sentence or two for the patient beside each event's codes: everyday words, short
sentences, about a grade 6 reading level (the tests check it with the Flesch-Kincaid formula)."""

_TOLD = "Your care team has been told."
# event code -> (what was found, for "started"; what "ended" says)
_VITAL_WORDS: dict[str, tuple[str, str]] = {
    "tachycardia": ("Your heart was beating fast, at {value} beats a minute.",
                    "Your heart rate is back to normal."),
    "bradycardia": ("Your heart was beating slowly, at {value} beats a minute.",
                    "Your heart rate is back to normal."),
    "desaturation_3pct": ("The oxygen in your blood dropped to {value} percent for a while.",
                          "The oxygen in your blood is back up."),
    "desaturation_4pct": ("The oxygen in your blood dropped to {value} percent for a while.",
                          "The oxygen in your blood is back up."),
    "hypoxaemia": ("The oxygen in your blood has stayed low, at {value} percent.",
                   "The oxygen in your blood is back up."),
    "fever": ("You have a fever. Your temperature was {value} degrees.",
              "Your fever has gone down."),
    "hypertension": ("Your blood pressure was high, at {value}.",
                     "Your blood pressure is back to normal."),
    "hypotension": ("Your blood pressure was low, at {value}.",
                    "Your blood pressure is back to normal."),
}


def explain_vital(code: str, phase: str, value: float) -> str:
    started, ended = _VITAL_WORDS[code]
    if phase == "ended":
        return ended
    return f"{started.format(value=f'{value:g}')} {_TOLD}"


def explain_rhythm(phase: str, minutes: float | None) -> str:
    if phase == "started":
        return f"Your heartbeat has not been regular. {_TOLD}"
    if minutes is None:
        return "Your heartbeat is regular again."
    spell = "one minute" if round(minutes) <= 1 else f"{round(minutes)} minutes"
    return f"Your heartbeat was not regular for {spell}. It is regular again now."
