"""The real thing: `python -m edge run` as a child process, a real Mosquitto, a paho subscriber."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from edge.demo.broker import LocalMosquitto
from tests.conftest import Subscriber
from tests.gateway_process import GatewayProcess, outbox_state, wait_until, write_config

TACHYCARDIA = """
[[devices.simulation.episodes]]
start_s = 1
duration_s = 4
bpm = 150
ramp_s = 0.5
"""


def seqs(subscriber: Subscriber, schema: str) -> list[int]:
    return sorted({payload["seq"] for payload in subscriber.of_schema(schema)})


def has_every_summary_up_to(n: int) -> Callable[[Subscriber], bool]:
    return lambda s: seqs(s, "edge.summary")[:n] == list(range(1, n + 1))


def assert_no_gaps_and_duplicates_only_by_id(subscriber: Subscriber, schema: str) -> None:
    payloads = subscriber.of_schema(schema)
    by_id: dict[str, Any] = {}
    for payload in payloads:
        assert by_id.setdefault(payload["message_id"], payload) == payload
    numbers = sorted(p["seq"] for p in by_id.values())
    assert numbers == list(range(1, len(numbers) + 1)), "a message is missing or renumbered"


def test_summaries_events_and_status_arrive_valid_against_their_schemas(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
    validators: dict[str, Draft202012Validator],
) -> None:
    subscriber = subscribe(broker)
    gateway = GatewayProcess(write_config(tmp_path / "gw.toml", broker.port,
                                          episodes=TACHYCARDIA))
    try:
        subscriber.wait_for(lambda s: len(s.of_schema("edge.event")) >= 2, 30,
                            "the tachycardia episode to start and end")
        subscriber.wait_for(lambda s: len(s.of_schema("edge.summary")) >= 3, 10, "summaries")
    finally:
        assert gateway.stop() == 0
    started, ended = subscriber.of_schema("edge.event")[:2]
    assert (started["event_type"], started["phase"], ended["phase"]) == (
        "tachycardia", "started", "ended")
    for topic, payload in subscriber.messages:
        kind = payload["schema"].removeprefix("edge.")
        errors = [e.message for e in validators[kind].iter_errors(payload)]
        assert errors == [], (topic, payload)
        assert topic.startswith("edge/v1/gw-test/")
    assert subscriber.messages[-1][1]["state"] == "offline"
    assert "Traceback" not in gateway.log()


def test_status_is_retained_and_the_last_will_says_offline(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    gateway = GatewayProcess(write_config(tmp_path / "gw.toml", broker.port))
    try:
        late = subscribe(broker, topic="edge/v1/gw-test/status", client_id="late")
        late.wait_for(lambda s: [p["state"] for p in s.of_schema("edge.status")] == ["online"],
                      20, "the retained online status")
    finally:
        gateway.kill()
    late.wait_for(lambda s: s.of_schema("edge.status")[-1]["state"] == "offline", 20,
                  "the broker to publish the last will")
    newcomer = subscribe(broker, topic="edge/v1/gw-test/status", client_id="newcomer")
    newcomer.wait_for(lambda s: [p["state"] for p in s.of_schema("edge.status")] == ["offline"],
                      20, "the retained offline status")


def test_nothing_is_lost_while_the_broker_is_down(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    gateway = GatewayProcess(write_config(tmp_path / "gw.toml", broker.port))
    try:
        subscriber.wait_for(has_every_summary_up_to(3), 30, "three summaries")
        broker.stop()
        wait_until(lambda: outbox_state(gateway.outbox_path)["pending"] >= 4, 30,
                   "summaries to queue up in the outbox while the broker is down")
        broker.start()
        last_before = outbox_state(gateway.outbox_path)["streams"]["summary/strap-01"]
        subscriber.wait_for(has_every_summary_up_to(last_before + 2), 60,
                            "the backlog and live summaries after the broker came back")
    finally:
        assert gateway.stop() == 0
    state = outbox_state(gateway.outbox_path)
    assert state["pending"] == 0
    subscriber.wait_for(has_every_summary_up_to(state["streams"]["summary/strap-01"]), 10,
                        "every summary the gateway produced")
    assert_no_gaps_and_duplicates_only_by_id(subscriber, "edge.summary")
    assert "lost the broker" in gateway.log()
    assert "Traceback" not in gateway.log()


def test_a_backlog_survives_sigkill_and_is_delivered_after_restart(
    tmp_path: Path, subscribe: Callable[..., Subscriber],
) -> None:
    broker = LocalMosquitto()
    config = write_config(tmp_path / "gw.toml", broker.port)
    first = GatewayProcess(config)
    try:
        wait_until(lambda: first.outbox_path.exists()
                   and outbox_state(first.outbox_path)["pending"] >= 4, 30,
                   "a backlog while no broker is reachable")
    finally:
        first.kill()
    assert first.log().count("cannot reach the broker at 127.0.0.1:") == 1
    backlog = outbox_state(first.outbox_path)
    produced = backlog["streams"]["summary/strap-01"]
    assert backlog["pending"] == produced
    with broker:
        subscriber = subscribe(broker)
        time.sleep(0.5)
        second = GatewayProcess(config)
        try:
            subscriber.wait_for(has_every_summary_up_to(produced + 1), 60,
                                "the backlog from before the SIGKILL")
        finally:
            assert second.stop() == 0
        assert_no_gaps_and_duplicates_only_by_id(subscriber, "edge.summary")
    assert "Traceback" not in first.log() + second.log()


def test_malformed_packets_are_counted_logged_once_and_good_ones_still_flow(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    gateway = GatewayProcess(write_config(tmp_path / "gw.toml", broker.port, period_s=3,
                                          malformed_every=2))
    try:
        subscriber.wait_for(lambda s: len(s.of_schema("edge.summary")) >= 3, 30,
                            "summaries from a strap that sends every other packet malformed")
    finally:
        assert gateway.stop() == 0
    counted = [p["sample_count"] for p in subscriber.of_schema("edge.summary")[1:]]
    assert all(1 <= n <= 2 for n in counted), counted
    log = gateway.log()
    assert log.count("bad packet") == 1, log
    assert "Traceback" not in log
