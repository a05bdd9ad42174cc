"""A PUBACK with a failure reason code is not a delivery: the message is offered again, and after
`max_attempts` refusals moved to the dead letters; everything else keeps flowing."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.demo.broker import LocalMosquitto
from tests.conftest import Subscriber
from tests.gateway_process import GatewayProcess, wait_until


def test_refused_events_are_retried_then_dead_lettered_while_summaries_flow(
    tmp_path: Path, subscribe: Callable[..., Subscriber],
) -> None:
    acl = tmp_path / "acl"
    # Anonymous clients may publish status and summaries, and read everything: events are
    # refused, which Mosquitto answers with PUBACK reason code 0x87 (not authorized).
    acl.write_text("topic write edge/v1/gw-test/status\ntopic write edge/v1/gw-test/summary/#\n"
                   "topic read #\n")
    config = tmp_path / "gw.toml"
    with LocalMosquitto(acl_file=acl) as broker:
        config.write_text(f"""
[gateway]
id = "gw-test"
data_dir = "data"

[uplink]
port = {broker.port}
plaintext = true
max_attempts = 2

[summary]
period_s = 1

[detect.heart_rate]
high_bpm = 120
min_duration_s = 1

[[devices]]
id = "strap-01"
patient = "patient-0001"

[[devices.simulation.episodes]]
start_s = 1
duration_s = 4
bpm = 150
ramp_s = 0.5
""")
        subscriber = subscribe(broker)
        gateway = GatewayProcess(config)
        try:
            # Both events: the tachycardia starting and ending.
            wait_until(lambda: gateway.log().count("moved to the dead letters") == 2, 60,
                       "the refused events to be dead-lettered")
            count = len(subscriber.of_schema("edge.summary"))
            subscriber.wait_for(lambda s: len(s.of_schema("edge.summary")) > count + 2, 20,
                                "summaries to keep flowing")
        finally:
            assert gateway.stop() == 0
    log = gateway.log()
    assert "broker refused outbox message" in log and "Not authorized" in log
    assert "refused by the broker 2 times, last: Not authorized" in log
    assert subscriber.of_schema("edge.event") == []
    with sqlite3.connect(gateway.outbox_path) as db:
        dead = db.execute("SELECT stream, reason FROM dead_letter").fetchall()
        queued_events = db.execute(
            "SELECT count(*) FROM message WHERE stream = 'event/strap-01'").fetchone()[0]
    assert [stream for stream, _ in dead] == ["event/strap-01"] * 2
    assert queued_events == 0
