"""Publishes the outbox to MQTT at QoS 1 and deletes each message once the broker acks it.

paho runs its network loop in its own thread. The asyncio loop alone touches the outbox: it reads
the messages to publish next (the ready messages, a few windows' worth, by priority) and deletes
what the broker acknowledged, in batches. The window itself (the ready messages, those in flight
and the PUBACKs paho reported) is kept under a lock by whichever thread comes: on each PUBACK,
paho's thread publishes the next ready message at once, as paho does from its own queue, with no
round trip through the asyncio loop, which it calls only when there is work for it.
"""

import asyncio
import json
import logging
import ssl
import threading
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
from edge.messages.payloads import PRIORITIES, status_payload, status_topic
from edge.metrics import Counters
from edge.outbox.store import Outbox, StoredMessage
from edge.ratelimit import RateLimitedLog
from edge.uplink.tls import probe

log = logging.getLogger(__name__)

_RETRY_FAILED_AFTER_S = 5.0
_UNREACHABLE_LOG_INTERVAL_S = 60.0
_SHUTDOWN_TIMEOUT_S = 2.0
_SETTLE_BATCH = 200
# paho's thread calls the asyncio loop to delete when this many have been acknowledged; while
# a backlog drains, the loop's turns to read the next messages come sooner, and delete too.
_SETTLE_CALL = 2 * _SETTLE_BATCH
# Ready messages, in windows (max_in_flight): paho's thread calls the asyncio loop to read more
# when fewer than _REFILL_WINDOWS are ready (enough for a delete's fsync, or a WAL checkpoint,
# to finish meanwhile), which reads at most _READ_WINDOWS at a time.
_REFILL_WINDOWS = 8
_READ_WINDOWS = 4
_FIRST_RECONNECT_S = 1
_SETTLE_AFTER_S = 0.05
_ALERT = PRIORITIES["alert"]


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
        self._connected = False  # as the asyncio loop knows it
        self._stopping = False
        # The asyncio loop's alone:
        self._acked: list[int] = []  # acknowledged, deleted from the outbox in batches
        self._waiting: set[int] = set()  # refused by the broker, to be offered again later
        # Per priority, the newest message id taken from the outbox: the next look starts there.
        self._taken: dict[int, int] = {}
        self._exhausted = False  # the last look found all there was: look again when woken
        self._throttled_until = 0.0  # no backlog taken before then (monotonic)
        self._withdrawals = outbox.withdrawals  # as the ready messages were read
        self._refusals: dict[int, int] = {}
        self._settle_timer: asyncio.TimerHandle | None = None
        self._reconnects = Backoff(settings.reconnect_max_s)  # used in paho's thread only
        # The window, under `_window` (any thread): paho message id -> (outbox id, priority)
        # of each message awaiting PUBACK; the ready messages, one queue per priority; the
        # acknowledged and the refused, for the asyncio loop; whether it has been called.
        self._window = threading.Lock()
        self._in_flight: dict[int, tuple[int, int]] = {}
        self._ready: tuple[deque[StoredMessage], ...] = tuple(
            deque() for _ in range(len(PRIORITIES)))
        self._ready_count = 0
        self._delivered: list[int] = []
        self._refused_now: list[tuple[int, str]] = []
        self._called = False
        self._link_up = False  # paho's thread's view: connected, so publish
        # PUBACKs as paho's thread received them: (message id, failure reason or None); they
        # wait here only while another thread holds the window.
        self._acks_from_paho: deque[tuple[int, str | None]] = deque()
        self._backlog = TokenBucket(settings.backlog_rate_per_s)
        # Told the outbox id of each message the broker acknowledged (for the benchmark), in
        # the asyncio loop: an alert's at once, the others' within _SETTLE_AFTER_S.
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
        # The window is ours (`_fill_window`): paho holds only what is on the wire, and sends
        # each message when it is given, with no queue of its own to look through on each ack.
        client.max_inflight_messages_set(0)
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
        self._exhausted = False
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
                self._turn()
        finally:
            self._stopping = True  # nothing more goes out
            self._take_reports()
            self._settle_acks(force=True)
            await self._stop()
            self._take_reports()  # what the broker acknowledged meanwhile
            self._settle_acks(force=True)
            if self._settle_timer is not None:
                self._settle_timer.cancel()

    async def _stop(self) -> None:
        self._stopping = True
        if self._connected:
            info = self._client.publish(self._status_topic, self._status("offline"), 1, True)
            await asyncio.to_thread(info.wait_for_publish, _SHUTDOWN_TIMEOUT_S)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def _turn(self) -> None:
        """What paho's thread called for, or a wake: take in what the broker answered, read
        the next messages and fill the window, then delete what the broker acknowledged (an
        alert does not wait for that transaction)."""
        idle = self._take_reports()
        if self._connected:
            self._take_ready()
            self._serve(wait=True)
        self._settle_acks(force=idle)

    def _take_reports(self) -> bool:
        """The acknowledged and refused messages paho's thread reported; True when nothing
        is in flight any more."""
        with self._window:
            self._called = False
            delivered, self._delivered = self._delivered, []
            refused, self._refused_now = self._refused_now, []
            idle = not self._in_flight
        self._acked += delivered
        if self.on_acknowledged is not None:
            for message_id in delivered:
                self.on_acknowledged(message_id)
        if self._refusals:
            for message_id in delivered:
                self._refusals.pop(message_id, None)
        for message_id, reason in refused:
            self._refused(message_id, reason)
        return idle

    def _take_ready(self) -> None:
        """Read the next messages to publish, alerts first; the rest no faster than the
        backlog rate. Alerts are read whatever else is waiting."""
        if self._outbox.withdrawals != self._withdrawals:
            # Some of what was read may be gone (purged, evicted, expired): read it again.
            with self._window:
                for ready in self._ready:
                    ready.clear()
                self._ready_count = 0
            self._withdrawals = self._outbox.withdrawals
            self._taken.clear()
            self._exhausted = False
        with self._window:
            in_flight = [message_id for message_id, _ in self._in_flight.values()]
            ready_ids = [message.id for ready in self._ready for message in ready]
            busy = {*in_flight, *ready_ids, *self._delivered, *self._acked, *self._waiting,
                    *(message_id for message_id, _ in self._refused_now)}
        window = self._settings.max_in_flight
        room = min(_READ_WINDOWS * window,
                   (_REFILL_WINDOWS + _READ_WINDOWS) * window - len(ready_ids))
        backlog = room > 0 and not self._exhausted and time.monotonic() >= self._throttled_until
        wanted = room if backlog else self._settings.max_in_flight
        batch = self._outbox.next_batch(wanted, busy, self._taken,
                                        None if backlog else (_ALERT,))
        if backlog and not batch:
            self._exhausted = True
        taken = batch
        if self._backlog.limited:
            for count, message in enumerate(batch):
                if message.priority != _ALERT:
                    wait_s = self._backlog.take(time.monotonic())
                    if wait_s > 0:
                        self._throttled_until = time.monotonic() + wait_s
                        self._exhausted = False
                        asyncio.get_running_loop().call_later(wait_s, self._wake.set)
                        taken = batch[:count]
                        break
        for message in taken:  # by priority, then id
            self._taken[message.priority] = message.id
        with self._window:
            for message in taken:
                self._ready[message.priority].append(message)
            self._ready_count += len(taken)

    def _settle_acks(self, force: bool) -> None:
        """Delete acknowledged messages from the outbox, in batches (each is a transaction,
        with its fsync): when enough have gathered, when nothing is in flight, or shortly;
        while anything is in flight, look again shortly, for what paho's thread did not call
        about."""
        if self._acked and (force or len(self._acked) >= _SETTLE_BATCH):
            self._outbox.remove(self._acked)
            self._acked = []
        if (self._acked or self._in_flight) and self._settle_timer is None:
            self._settle_timer = asyncio.get_running_loop().call_later(_SETTLE_AFTER_S,
                                                                       self._settle_soon)

    def _settle_soon(self) -> None:
        self._settle_timer = None
        idle = self._take_reports()
        if self._acked:
            self._outbox.remove(self._acked)
            self._acked = []
        self._settle_acks(force=idle)

    # The window, from either thread.

    def _serve(self, wait: bool) -> None:
        """Under the window's lock: take in the PUBACKs paho reported and fill the window from
        the ready messages. paho's thread never waits for the lock (`wait` False): its holder
        may be in `publish`, waiting for a lock of paho's that paho's thread holds while it
        reports a PUBACK; whatever it leaves, the holder takes once it has let go."""
        while self._window.acquire(wait):
            try:
                call = self._take_acks() | self._fill_window()
                if call and not self._called:
                    self._called = True
                else:
                    call = False
            finally:
                self._window.release()
            if call:
                self._call_in_loop(self._wake.set)
            if not self._acks_from_paho:
                return
            wait = False

    def _take_acks(self) -> bool:
        """Move the PUBACKs paho reported out of the window; True when the asyncio loop should
        see to them now: a refusal, an alert, a batch to delete, or nothing left in flight."""
        call = settled = False
        while self._acks_from_paho:
            mid, failure = self._acks_from_paho.popleft()
            taken = self._in_flight.pop(mid, None)
            if taken is None:  # our status message
                continue
            settled = True
            message_id, priority = taken
            if failure is not None:
                self._refused_now.append((message_id, failure))
                call = True
                continue
            self._counters.acknowledged += 1
            self._delivered.append(message_id)
            call = call or priority == _ALERT or len(self._delivered) >= _SETTLE_CALL
        return call or (settled and not self._in_flight)

    def _fill_window(self) -> bool:
        """Publish ready messages, highest priority first, while fewer than max_in_flight await
        their PUBACK; True when the asyncio loop should read more."""
        if not self._link_up or self._stopping:
            return False
        if self._outbox.withdrawals != self._withdrawals:
            return True  # what is ready may have been deleted: the asyncio loop reads it again
        room = self._settings.max_in_flight - len(self._in_flight)
        if room > 0 and self._ready_count:
            publish, in_flight, sent = self._client.publish, self._in_flight, 0
            for ready in self._ready:  # by priority
                while ready and sent < room:
                    message = ready.popleft()
                    in_flight[publish(message.topic, message.payload, qos=1).mid] = (
                        message.id, message.priority)
                    sent += 1
            self._ready_count -= sent
            self._counters.published += sent
        return (self._ready_count < _REFILL_WINDOWS * self._settings.max_in_flight
                and not self._exhausted and time.monotonic() >= self._throttled_until)

    # paho callbacks: run in paho's thread; they hand over to the asyncio loop, but for the
    # window.

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
        self._link_up = True
        self._call_in_loop(self._connection_changed, True)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._next_attempt_later(client)
        self._call_in_loop(self._unreachable)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._link_up = False  # paho keeps what is in flight, and sends it again on reconnecting
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
        self._acks_from_paho.append((mid, str(reason) if reason.is_failure else None))
        self._serve(wait=False)

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
        self._exhausted = False
        asyncio.get_running_loop().call_later(_RETRY_FAILED_AFTER_S, self._retry_later,
                                              message_id)

    def _retry_later(self, message_id: int) -> None:
        self._waiting.discard(message_id)
        self._exhausted = False
        self._wake.set()


class TokenBucket:
    """At most `rate_per_s` a second on average, in bursts of up to one second's worth; a rate
    of 0 means no limit."""

    def __init__(self, rate_per_s: float) -> None:
        self._rate = rate_per_s
        self._tokens = rate_per_s
        self._at = time.monotonic()

    @property
    def limited(self) -> bool:
        return self._rate > 0

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
