"""Never lose what was committed: the broker killed mid-burst, the gateway killed again and
again at random moments."""

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from edge.config import OutboxSettings, UplinkSettings
from edge.demo.broker import LocalMosquitto
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.uplink.mqtt import MqttUplink
from tests.conftest import Subscriber
from tests.gateway_process import GatewayProcess, outbox_state, wait_until, write_config

BURST = 3000
IN_FLIGHT = 50


def summary(n: int) -> OutgoingMessage:
    return OutgoingMessage("summary/strap-01", "edge/v1/gw-test/summary/strap-01",
                           {"schema": "edge.summary", "message_id": f"m-{n}", "n": n})


def test_a_broker_killed_mid_burst_loses_nothing_committed_and_duplicates_stay_few(
    tmp_path: Path, subscribe: Callable[..., Subscriber],
) -> None:
    (tmp_path / "broker").mkdir()
    broker = LocalMosquitto(workdir=tmp_path / "broker")
    broker.start()
    subscriber = subscribe(broker)
    outbox = Outbox(tmp_path / "outbox.db", OutboxSettings())
    committed = set(outbox.put([summary(n) for n in range(BURST)]))
    counters = Counters()
    uplink = MqttUplink(UplinkSettings(port=broker.port, plaintext=True, reconnect_max_s=1,
                                       max_in_flight=IN_FLIGHT, backlog_rate_per_s=0),
                        "gw-test", outbox, counters, None)
    acknowledged: list[int] = []
    uplink.on_acknowledged = acknowledged.append

    async def burst() -> None:
        task = asyncio.create_task(uplink.run())
        async with asyncio.timeout(60):
            while len(acknowledged) < BURST // 3:
                await asyncio.sleep(0.001)
            broker.kill()
            killed_at = len(acknowledged)
            await asyncio.sleep(1.0)
            broker.start()
            while outbox.count() > 0:
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert killed_at < BURST

    try:
        asyncio.run(burst())
    finally:
        broker.close()
    assert set(acknowledged) == committed  # every committed message acknowledged by a broker
    assert counters.published - BURST <= IN_FLIGHT  # re-sent: only what was in flight
    outbox.close()
    received: dict[str, dict[str, object]] = {}
    for _, payload in subscriber.messages:
        # A duplicate is recognisable: the same message id, the same content.
        assert received.setdefault(str(payload["message_id"]), payload) == payload


def test_a_gateway_killed_fifty_times_loses_nothing_and_its_database_stays_sound(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    config = write_config(tmp_path / "gw.toml", broker.port, period_s=1)
    rng = random.Random(50)
    outbox = tmp_path / "data" / "outbox.db"
    for run in range(1, 51):
        gateway = GatewayProcess(config)  # every run appends to the same log
        # At a random moment of its work: not before it runs, when killing proves nothing.
        wait_until(lambda: gateway.log().count("started with") == run, 30,  # noqa: B023
                   "the gateway to start")
        time.sleep(rng.uniform(0.0, 1.5))
        gateway.kill()
        with sqlite3.connect(outbox) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    last = GatewayProcess(config)
    try:
        wait_until(lambda: last.log().count("started with") == 51, 30, "the gateway to start")
        wait_until(lambda: outbox_state(outbox)["pending"] == 0
                   and outbox_state(outbox)["streams"].get("summary/strap-01", 0) > 0, 60,
                   "the backlog to drain")
    finally:
        assert last.stop() == 0
    produced = outbox_state(outbox)["streams"]["summary/strap-01"]
    subscriber.wait_for(
        lambda s: {p["seq"] for p in s.of_schema("edge.summary")} >= set(range(1, produced + 1)),
        30, "every summary ever committed")
    by_id: dict[str, dict[str, object]] = {}
    for payload in subscriber.of_schema("edge.summary"):
        assert by_id.setdefault(payload["message_id"], payload) == payload
    # One message id per number, every number: nothing lost, nothing numbered twice.
    assert sorted(int(str(p["seq"])) for p in by_id.values()) == list(range(1, produced + 1))
    assert "Traceback" not in last.log()
