"""`edge sim` as a rig runs it: a scenario replaying a real AF recording, into a gateway in the
same process, publishing to a real Mosquitto; then `edge sim score`."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edge.demo.broker import LocalMosquitto
from tests.conftest import Subscriber
from tests.gateway_process import write_config

SCENARIOS = Path(__file__).parents[1] / "scenarios"


def edge(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def test_a_replayed_af_recording_becomes_an_af_alert_at_the_broker(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    truth = tmp_path / "truth.jsonl"
    result = edge("sim", "--scenario", SCENARIOS / "replay_af.toml", "--radio", "inprocess",
                  "--config", write_config(tmp_path / "gw.toml", broker.port), "--truth", truth)
    assert result.returncode == 0, result.stderr
    assert "scenario 'replay-af' done" in result.stdout
    assert truth.stat().st_mode & 0o777 == 0o600
    subscriber.wait_for(lambda s: bool(s.of_schema("edge.event")), 10, "the AF alert")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(payload) + "\n" for _, payload in subscriber.messages))
    scored = edge("sim", "score", truth, events, "--json")
    assert scored.returncode == 0, scored.stdout + scored.stderr
    (af,) = json.loads(scored.stdout)["episodes"]
    assert af["detected"] and af["event_type"] == "atrial_fibrillation"
    (alert, *_) = subscriber.of_schema("edge.event")
    assert (alert["source"], alert["patient_id"]) == ("ecg", "patient-0046")


def test_edge_sim_refuses_what_cannot_work() -> None:
    scenario = SCENARIOS / "replay_af.toml"
    no_gateway = edge("sim", "--scenario", scenario)
    assert no_gateway.returncode == 2
    assert "--radio inprocess runs a gateway in this process: give its --config" in \
        no_gateway.stderr
    too_fast = edge("sim", "--scenario", scenario, "--radio", "bluez")
    assert too_fast.returncode == 2 and "speed 10: a gateway in another process keeps real " \
        "time" in too_fast.stderr
    missing = edge("sim", "--scenario", "nowhere.toml")
    assert missing.returncode == 2 and "nowhere.toml: cannot read" in missing.stderr
    assert "Traceback" not in no_gateway.stderr + too_fast.stderr + missing.stderr


def test_devices_on_the_emulated_bluez_are_found_by_another_process() -> None:
    scenario = SCENARIOS / "living_room.toml"
    with subprocess.Popen([sys.executable, "-m", "edge", "sim", "--scenario", str(scenario),
                           "--radio", "bluez"], stdout=subprocess.PIPE, text=True) as sim:
        try:
            assert sim.stdout is not None
            announced = sim.stdout.readline()
            variable, _, address = announced.strip().rpartition(" ")[2].partition("=")
            assert variable == "DBUS_SYSTEM_BUS_ADDRESS", announced
            scan = subprocess.run([sys.executable, "-m", "edge", "scan", "--seconds", "2"],
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, variable: address})
        finally:
            sim.terminate()
            # It cleans up (its private D-Bus, its folder) and exits normally.
            assert sim.wait(20) == 0
    assert not Path(address.removeprefix("unix:path=")).exists()
    assert scan.returncode == 0, scan.stderr
    found = [line.split() for line in scan.stdout.splitlines()[1:-1]]
    assert [(row[0], row[-2]) for row in found] == [("C0:DE:00:00:00:01", "polar_h10"),
                                                    ("C0:DE:00:00:00:02",
                                                     "generic_blood_pressure")]
