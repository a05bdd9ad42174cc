"""`edge sim` as a rig runs it: a scenario replaying a real AF recording, into a gateway in the
same process, publishing to a real Mosquitto; then `edge sim score`."""

import json
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
