"""Scenario files: every shipped example loads; every mistake is named by file, key and reason."""

from pathlib import Path
from typing import Any

import pytest

from edge.sim.scenario import load_scenario, parse_scenario
from edge.typed_toml import ConfigError

SCENARIOS = Path(__file__).parents[1] / "scenarios"
DATA = Path(__file__).parents[1] / "data" / "ecg"


def minimal(**changes: Any) -> dict[str, Any]:
    return {"name": "t", "patient": "patient-0001", "duration_s": 100,
            "devices": [{"id": "strap-01", "profile": "generic_heart_rate"}]} | changes


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.devices and scenario.name


def test_addresses_are_made_up_in_order_and_replays_found_beside_the_file() -> None:
    scenario = parse_scenario(minimal(devices=[
        {"id": "strap-01", "profile": "generic_heart_rate"},
        {"id": "h10-01", "profile": "polar_h10", "replay": "A00004.hea"},
        {"id": "oxi-01", "profile": "generic_pulse_oximeter", "address": "c0:de:12:34:56:78"},
    ]), "<test>", DATA)
    assert [d.address for d in scenario.devices] == [
        "C0:DE:00:00:00:01", "C0:DE:00:00:00:02", "C0:DE:12:34:56:78"]
    assert scenario.devices[1].replay == str((DATA / "A00004.hea").resolve())


@pytest.mark.parametrize(("changes", "error"), [
    ({"speed": 0}, "speed: must be 0.01..1000, got 0.0"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"patient": "Jane Doe"}, "patient: "),
    ({"devices": []}, "devices: at least one device is needed"),
    ({"devices": [{"id": "x", "profile": "toaster"}]},
     "devices[0].profile: no virtual wearable for 'toaster' (there are: "),
    ({"devices": [{"id": "x", "profile": "generic_cgm"}, {"id": "x", "profile": "generic_cgm"}]},
     "devices[1].id: 'x' is used by an earlier device"),
    ({"devices": [{"id": "x", "profile": "generic_cgm", "replay": "A00004.hea"}]},
     "devices[0].replay: only an ECG device (polar_h10) can replay a recording"),
    ({"devices": [{"id": "x", "profile": "polar_h10", "replay": "missing.hea"}]},
     "devices[0].replay: "),
    ({"episodes": [{"kind": "af", "start_s": 90, "duration_s": 20}]},
     "episodes[0]: ends at 110 s, after the scenario's 100 s"),
    ({"episodes": [{"kind": "stroke", "start_s": 0, "duration_s": 20}]},
     "episodes[0].kind: must be one of af, tachycardia"),
    ({"faults": [{"kind": "disconnect", "device": "cuff-9", "start_s": 0, "duration_s": 5}]},
     "faults[0].device: no device 'cuff-9' in this scenario"),
    ({"faults": [{"kind": "malformed", "device": "strap-01", "start_s": 0, "duration_s": 5,
                  "every": 0}]}, "faults[0].every: must be 1..1000000, got 0"),
])
def test_mistakes_are_named_with_their_key(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(minimal(**changes), "rig.toml", DATA)
    assert caught.value.source == "rig.toml"
    assert any(line.startswith(error) for line in caught.value.errors), caught.value.errors


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML"):
        load_scenario(path)
