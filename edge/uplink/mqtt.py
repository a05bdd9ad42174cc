"""Publishes the outbox to MQTT at QoS 1 and deletes each message once the broker acks it.

paho runs its network loop in its own thread; every callback is handed over to the asyncio
loop, which alone touches the outbox and the in-flight table.
"""

import asyncio
import json
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.backoff import Backoff
from edge.config import UplinkSettings
from edge.messages.payloads import status_payload, status_topic
from edge.metrics import Counters
from edge.outbox.store import Outbox
from edge.ratelimit import RateLimitedLog
from edge.uplink.tls import probe

log = logging.getLogger(__name__)

_RETRY_FAILED_AFTER_S = 5.0
_UNREACHABLE_LOG_INTERVAL_S = 60.0
_SHUTDOWN_TIMEOUT_S = 2.0
_SETTLE_BATCH = 200
_HANDOFF_WINDOWS = 4
_FIRST_RECONNECT_S = 1
_SETTLE_AFTER_S = 0.05


class MqttUplink:
    def __init__(
        self, settings: UplinkSettings, gateway_id: str, outbox: Outbox, counters: Counters,
        tls: ssl.SSLContext | None, handlers: Mapping[str, Callable[[bytes], None]] | None = None,
    ) -> None:
        """`tls`: the context of `edge.uplink.tls.client_context`; None only for plaintext to
        a loopback address. `handlers`: topics to subscribe to (QoS 1), each with what to call,
        in the asyncio loop, with a message's payload."""
        self._handlers = dict(handlers or {})
        self._settings = settings
        self._tls = tls
        self._probing = False
        self._gateway_id = gateway_id
        self._outbox = outbox
        self._counters = counters
        self._wake = asyncio.Event()
        self._connected = False
        self._stopping = False
        # paho message id -> outbox row id, for messages awaiting PUBACK.
        self._in_flight: dict[int, int] = {}
        self._acked: list[int] = []  # acknowledged, deleted from the outbox in batches
        self._waiting: set[int] = set()  # refused by the broker, to be offered again later
        # Per priority, the newest message id taken from the outbox: the next look starts there.
        self._taken: dict[int, int] = {}
        self._refusals: dict[int, int] = {}
        self._settle_pending = False
        self._reconnects = Backoff(settings.reconnect_max_s)  # used in paho's thread only
        # PUBACKs as paho's thread received them: (message id, failure reason or None).
        self._acks_from_paho: deque[tuple[int, str | None]] = deque()
        self._acks_handover_pending = False
        self._backlog = TokenBucket(settings.backlog_rate_per_s)
        # Told the outbox id of each message the broker acknowledges (for the benchmark).
        self.on_acknowledged: Callable[[int], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._warnings = RateLimitedLog(log, _UNREACHABLE_LOG_INTERVAL_S)
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"edge-{self._gateway_id}",
            protocol=mqtt.MQTTv5,
        )
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        client.reconnect_delay_set(_FIRST_RECONNECT_S, _FIRST_RECONNECT_S)
        client.max_inflight_messages_set(self._settings.max_in_flight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    @property
    def _status_topic(self) -> str:
        return status_topic(self._gateway_id)

    def _status(self, state: str) -> bytes:
        return json.dumps(status_payload(self._gateway_id, state, time.time())).encode()

    def wake(self) -> None:
        """Tell the uplink that the outbox has new messages."""
        self._wake.set()

    async def run(self) -> None:
        """Connect, retrying until the broker is there, and drain the outbox until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._client.connect_async(
            self._settings.host, self._settings.port, self._settings.keepalive_s,
            clean_start=True,
        )
        self._client.loop_start()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._settle_acks(force=not self._in_flight)
                self._publish_pending()
        finally:
            self._settle_acks(force=True)
            await self._stop()

    async def _stop(self) -> None:
        self._stopping = True
        if self._connected:
            info = self._client.publish(self._status_topic, self._status("offline"), 1, True)
            await asyncio.to_thread(info.wait_for_publish, _SHUTDOWN_TIMEOUT_S)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def _publish_pending(self) -> None:
        """Fill the in-flight window, alerts first; the rest no faster than the backlog rate."""
        while self._connected:
            # paho gets a few windows' worth: it sends the next one from its own thread as each
            # PUBACK comes, with no round trip through this loop; it still has only
            # max_in_flight unacknowledged on the wire.
            room = _HANDOFF_WINDOWS * self._settings.max_in_flight - len(self._in_flight)
            if room <= 0:
                return
            busy = {*self._in_flight.values(), *self._acked, *self._waiting}
            batch = self._outbox.next_batch(room, busy, self._taken)
            if not batch:
                return
            for message in batch:
                if message.priority > 0:
                    wait_s = self._backlog.take(time.monotonic())
                    if wait_s > 0:
                        asyncio.get_running_loop().call_later(wait_s, self._wake.set)
                        return
                info = self._client.publish(message.topic, message.payload, qos=1)
                self._in_flight[info.mid] = message.id
                self._taken[message.priority] = max(self._taken.get(message.priority, 0),
                                                    message.id)
                self._counters.published += 1

    def _settle_acks(self, force: bool) -> None:
        """Delete acknowledged messages from the outbox, in batches (each is a transaction,
        with its fsync): when enough have gathered, when nothing is in flight, or shortly."""
        if not self._acked:
            return
        if force or len(self._acked) >= _SETTLE_BATCH:
            self._outbox.remove(self._acked)
            self._acked = []
        elif not self._settle_pending:
            self._settle_pending = True
            asyncio.get_running_loop().call_later(_SETTLE_AFTER_S, self._settle_soon)

    def _settle_soon(self) -> None:
        self._settle_pending = False
        self._settle_acks(force=True)

    # paho callbacks: run in paho's thread, so they only hand over to the asyncio loop.

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("broker %s:%s refused the connection: %s", self._settings.host,
                        self._settings.port, reason)
            return
        self._reconnects.reset()
        client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
        for topic in self._handlers:
            client.subscribe(topic, qos=1)
        self._call_in_loop(self._connection_changed, True)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._next_attempt_later(client)
        self._call_in_loop(self._unreachable)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._next_attempt_later(client)
        self._call_in_loop(self._connection_changed, False, str(reason))

    def _next_attempt_later(self, client: mqtt.Client) -> None:
        """paho doubles its reconnect delay without jitter; a fleet that lost its broker
        together would come back in lock-step. So each wait is ours: exponential, capped, with
        jitter (paho takes the minimum delay as the next wait after it is set)."""
        delay = max(_FIRST_RECONNECT_S, round(self._reconnects.next_delay(_FIRST_RECONNECT_S)))
        client.reconnect_delay_set(delay, delay)  # whole seconds: paho's unit

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        failure = str(reason) if reason.is_failure else None
        self._acks_from_paho.append((mid, failure))
        # One hand-over for all the acks that come before the loop gets to them.
        if not self._acks_handover_pending:
            self._acks_handover_pending = True
            self._call_in_loop(self._take_acks)

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        handler = self._handlers.get(message.topic)
        if handler is not None:
            self._call_in_loop(handler, bytes(message.payload))

    def _call_in_loop(self, callback: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    # Their continuations, in the asyncio loop.

    def _connection_changed(self, connected: bool, reason: str = "") -> None:
        if not connected and not self._connected and not self._stopping:
            # Dropped before the CONNACK, as when the broker refuses our certificate once the
            # TLS 1.3 handshake is over: a failed attempt.
            self._unreachable()
            return
        if connected and not self._connected:
            log.info("connected to broker %s:%s", self._settings.host, self._settings.port)
        elif not connected and self._connected and not self._stopping:
            log.warning("lost the broker (%s); %d messages in flight will be re-sent",
                        reason, len(self._in_flight))
        self._connected = connected
        self._wake.set()

    def _unreachable(self) -> None:
        self._counters.connect_failures += 1
        if self._tls is not None and self._warnings.due("unreachable", time.time()):
            if not self._probing:  # paho does not say why; a TLS handshake of our own does
                self._probing = True
                asyncio.get_running_loop().create_task(self._explain_unreachable(self._tls))
        else:
            self._report_unreachable("")

    async def _explain_unreachable(self, context: ssl.SSLContext) -> None:
        try:
            reason = await asyncio.to_thread(probe, self._settings.host, self._settings.port,
                                             context)
        finally:
            self._probing = False
        if reason is not None and not reason.startswith("cannot connect"):
            self._counters.tls_failures += 1
        self._report_unreachable(f" ({reason})" if reason else "")

    def _report_unreachable(self, reason: str) -> None:
        self._warnings.warning(
            "unreachable", time.time(),
            f"cannot reach the broker at {self._settings.host}:{self._settings.port}{reason}; "
            f"{self._outbox.count()} message(s) wait in the outbox")

    def _take_acks(self) -> None:
        self._acks_handover_pending = False  # first: an ack appended from now on calls again
        while self._acks_from_paho:
            self._publish_done(*self._acks_from_paho.popleft())

    def _publish_done(self, mid: int, failure: str | None) -> None:
        message_id = self._in_flight.pop(mid, None)
        if message_id is None:
            return
        if failure is not None:
            self._refused(message_id, failure)
        else:
            self._counters.acknowledged += 1
            self._refusals.pop(message_id, None)
            self._acked.append(message_id)
            if self.on_acknowledged is not None:
                self.on_acknowledged(message_id)
        self._wake.set()

    def _refused(self, message_id: int, reason: str) -> None:
        """An MQTT 5 PUBACK with a failure code ends the exchange: the broker will not take
        the message now. It is offered again later, and after `max_attempts` refusals moved
        to the dead letters."""
        self._counters.publish_failures += 1
        refusals = self._refusals[message_id] = self._refusals.get(message_id, 0) + 1
        if refusals >= self._settings.max_attempts:
            del self._refusals[message_id]
            self._outbox.dead_letter(message_id, f"refused by the broker {refusals} times, "
                                     f"last: {reason}")
            return
        log.warning("broker refused outbox message %d: %s", message_id, reason)
        self._waiting.add(message_id)
        self._taken.clear()  # look from the start again when it is due
        asyncio.get_running_loop().call_later(_RETRY_FAILED_AFTER_S, self._retry_later,
                                              message_id)

    def _retry_later(self, message_id: int) -> None:
        self._waiting.discard(message_id)
        self._wake.set()


class TokenBucket:
    """At most `rate_per_s` a second on average, in bursts of up to one second's worth; a rate
    of 0 means no limit."""

    def __init__(self, rate_per_s: float) -> None:
        self._rate = rate_per_s
        self._tokens = rate_per_s
        self._at = time.monotonic()

    def take(self, now: float) -> float:
        """Take one token: 0 when there was one, else the seconds until there is."""
        if self._rate <= 0:
            return 0.0
        self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self._rate
