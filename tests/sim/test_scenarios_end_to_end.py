"""End to end: scenarios run through the emulated BlueZ (bleak's real BlueZ backend connects to
the virtual wearables) into the gateway, which publishes to a real Mosquitto; the events that
arrive are scored against the run's ground truth with `edge sim score`."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edge.cli import main
from edge.config import Config, parse_config
from edge.demo.broker import LocalMosquitto
from edge.sim.scenario import load_scenario
from edge.sim.session import GatewayRun, run_with_gateway
from tests.conftest import Subscriber

SCENARIOS = Path(__file__).parents[1] / "scenarios"
FAST_BLE = {"connect_timeout_s": 10, "backoff_cap_s": 2.0, "reconnect_delay_s": 0.1,
            "flap_threshold_s": 0, "stall_min_s": 3.0, "scanner_stall_s": 5.0,
            "escalation_interval_s": 5.0}


def gateway_config(tmp_path: Path, port: int) -> Config:
    return parse_config({
        "gateway": {"id": "gw-rig", "data_dir": str(tmp_path / "data")},
        "uplink": {"host": "127.0.0.1", "port": port, "plaintext": True},
        "summary": {"period_s": 30},
        "ble": FAST_BLE,
    }, "<test>")


@dataclass
class Run:
    score: dict[str, Any]
    subscriber: Subscriber
    gateway: GatewayRun
    truth: list[dict[str, Any]]


def run_scenario(name: str, tmp_path: Path, broker: LocalMosquitto,
                 subscribe: Callable[..., Subscriber]) -> Run:
    """Run tests/scenarios/NAME.toml on the emulated BlueZ; score it with `edge sim score`."""
    subscriber = subscribe(broker)
    truth = tmp_path / "truth.jsonl"
    with truth.open("w") as log:
        gateway = asyncio.run(run_with_gateway(load_scenario(SCENARIOS / f"{name}.toml"),
                                               gateway_config(tmp_path, broker.port), "bluez",
                                               log))
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"topic": topic, "payload": payload}) + "\n"
                              for topic, payload in subscriber.messages))
    report = tmp_path / "score.json"
    with report.open("w") as out, pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", out)
        main(["sim", "score", str(truth), str(events), "--json"])
    return Run(json.loads(report.read_text()), subscriber, gateway,
               [json.loads(line) for line in truth.read_text().splitlines()])


def started_events(subscriber: Subscriber) -> list[dict[str, Any]]:
    return [e for e in subscriber.of_schema("edge.event") if e["phase"] == "started"]


def test_an_af_episode_on_a_polar_h10_raises_an_ecg_af_alert_within_its_bound(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    run = run_scenario("af_episode", tmp_path, broker, subscribe)
    assert run.score["passed"], run.score
    (af,) = run.score["episodes"]
    assert af["detected"] and af["delay_s"] <= af["bound_s"]
    # The PVCs before it raised nothing; the alert came from the ECG, and the episode ended.
    events = run.subscriber.of_schema("edge.event")
    assert [(e["event_type"], e["phase"], e["source"]) for e in events] == [
        ("atrial_fibrillation", "started", "ecg"), ("atrial_fibrillation", "ended", "ecg")]


def test_a_desaturation_raises_its_events_and_a_probe_off_the_finger_raises_none(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    run = run_scenario("desaturation", tmp_path, broker, subscribe)
    assert run.score["passed"], run.score
    assert {e["event_type"] for e in started_events(run.subscriber)} == {
        "desaturation_3pct", "desaturation_4pct", "hypoxaemia"}


def test_a_fever_is_reported_from_the_thermometer(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    run = run_scenario("fever", tmp_path, broker, subscribe)
    assert run.score["passed"], run.score
    (fever,) = started_events(run.subscriber)
    assert fever["event_type"] == "fever"
    assert fever["extreme"]["value"] >= 38.0


def test_a_disconnect_storm_raises_no_alarm_and_the_data_keeps_coming(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    run = run_scenario("disconnect_storm", tmp_path, broker, subscribe)
    assert run.score["passed"] and run.score["episodes"] == [], run.score
    assert run.subscriber.of_schema("edge.event") == []
    summaries = run.subscriber.of_schema("edge.summary")
    assert sorted(s["seq"] for s in summaries) == list(range(1, len(summaries) + 1))
    # Every 30 s period of the 240 s run is summarised, the last one, after all the faults,
    # with heart-rate samples in it.
    assert len(summaries) >= 7
    assert summaries[-1]["sample_count"] > 0
    # The storm happened, the gateway's central saw it, and counted the malformed packets.
    (end,) = [record for record in run.truth if record["record"] == "end"]
    assert end["counters"]["link_drops"] == 12
    assert end["counters"]["malformed"] > 0
    assert run.gateway.counters.decode_errors > 0
    assert run.gateway.central is not None
    (connection,) = run.gateway.central.connections.values()
    assert connection.counters.connects >= 10
