"""While a backlog drains at its limited rate, a live alert overtakes it."""

import asyncio
from collections.abc import Callable
from pathlib import Path

from edge.config import UplinkSettings
from edge.demo.broker import LocalMosquitto
from edge.messages.payloads import OutgoingMessage
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.uplink.mqtt import MqttUplink
from tests.conftest import Subscriber

BACKLOG = 400


def message(stream: str, n: int, phase: str = "") -> OutgoingMessage:
    payload = {"schema": f"edge.{stream.split('/')[0]}", "message_id": f"{stream}-{n}", "n": n}
    return OutgoingMessage(stream, f"edge/v1/gw-test/{stream}",
                           payload | ({"phase": phase} if phase else {}))


def test_an_alert_overtakes_a_backlog_draining_at_its_limited_rate(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(broker)
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put([message("diagnostic/strap-01", n) for n in range(BACKLOG // 2)]
               + [message("summary/strap-01", n) for n in range(BACKLOG // 2)])
    counters = Counters()
    uplink = MqttUplink(UplinkSettings(port=broker.port, plaintext=True, max_in_flight=10,
                                       backlog_rate_per_s=100), "gw-test", outbox, counters,
                        None)

    async def drain() -> None:
        task = asyncio.create_task(uplink.run())
        async with asyncio.timeout(60):
            while counters.acknowledged < 20:
                await asyncio.sleep(0.01)
            outbox.put([message("event/strap-01", 1, "started")])
            uplink.wake()
            while outbox.count() > 0:
                await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(drain())
    subscriber.wait_for(lambda s: len(s.messages) == BACKLOG + 3, 20,  # + online, offline
                        "everything")
    order = [payload["message_id"] for _, payload in subscriber.messages
             if payload.get("schema") != "edge.status"]
    # Summaries before diagnostics, each in its own order; the alert far ahead of the rest.
    summaries = [i for i in order if i.startswith("summary")]
    assert summaries == [f"summary/strap-01-{n}" for n in range(BACKLOG // 2)]
    assert order.index("summary/strap-01-199") < order.index("diagnostic/strap-01-0")
    # At most a second's burst of the backlog (100) and what paho already held (4 windows of
    # 10) went before the alert, out of 400.
    assert order.index("event/strap-01-1") <= 100 + 40
