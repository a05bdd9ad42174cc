"""What `edge provision` tries before it writes anything: a message through the broker and back
over the configured TLS, and each bound device's values arriving and decoding."""

import asyncio
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import Config
from edge.gatt import DECODERS, BatteryLevel, DecodeError, decode
from edge.gatt.uuids import normalize_uuid
from edge.link.ble.connection import State
from edge.link.notification import Notification
from edge.messages.payloads import selftest_message
from edge.profiles import DeviceProfile
from edge.uplink.tls import client_context, probe

log = logging.getLogger(__name__)

_POLL_S = 0.2
_BROKER_TIMEOUT_S = 15.0


def broker_round_trip(config: Config, timeout_s: float = _BROKER_TIMEOUT_S) -> str | None:
    """None when a message published at QoS 1 under this gateway's topics came back from the
    broker; else why not, in plain words. Blocking."""
    context = client_context(config)
    host, port = config.uplink.host, config.uplink.port
    nonce = secrets.token_hex(16)
    topic, payload = selftest_message(config.gateway.id, nonce, time.time())
    trip = _RoundTrip(topic, payload)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                         client_id=f"edge-{config.gateway.id}-provision-{nonce[:8]}")
    if context is not None:
        client.tls_set_context(context)
    trip.attach(client)
    try:
        client.connect(host, port, keepalive=30)
    except (OSError, ValueError) as error:
        return (probe(host, port, context) if context else None) or f"cannot connect: {error}"
    client.loop_start()
    try:
        trip.done.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    if trip.failure or trip.came_back:
        return trip.failure
    reason = probe(host, port, context) if context else None
    return reason or f"the message did not come back within {timeout_s:g} s"


class _RoundTrip:
    """paho's callbacks for one round trip: connect, subscribe, publish, read it back."""

    def __init__(self, topic: str, payload: dict[str, Any]) -> None:
        self.topic = topic
        self.payload = json.dumps(payload).encode()
        self.done = threading.Event()
        self.came_back = False
        self.failure: str | None = None

    def attach(self, client: mqtt.Client) -> None:
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message

    def _fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        self.done.set()

    def _on_connect(self, client: mqtt.Client, _: Any, __: Any, reason: Any, ___: Any) -> None:
        if reason.is_failure:
            self._fail(f"the broker refused the connection: {reason}")
        else:
            client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client: mqtt.Client, _: Any, __: Any, reasons: Any,
                      ___: Any) -> None:
        refused = [reason for reason in reasons if reason.is_failure]
        if refused:
            self._fail(f"the broker refused this gateway's subscription to {self.topic}: "
                       f"{refused[0]}")
        else:
            client.publish(self.topic, self.payload, qos=1)

    def _on_publish(self, _: mqtt.Client, __: Any, ___: Any, reason: Any, ____: Any) -> None:
        if reason.is_failure:
            self._fail(f"the broker refused this gateway's message on {self.topic}: {reason}")

    def _on_message(self, _: mqtt.Client, __: Any, message: mqtt.MQTTMessage) -> None:
        if message.payload == self.payload:
            self.came_back = True
            self.done.set()


@dataclass(slots=True)
class DeviceCheck:
    """What one device did while it was tried."""

    device_id: str
    profile: DeviceProfile
    values: dict[str, int] = field(default_factory=dict)  # decoded, per characteristic
    decode_errors: int = 0
    battery_percent: int | None = None
    set_up: bool = False
    last_state: State = State.WAITING
    failures: list[str] = field(default_factory=list)

    def silent_streams(self) -> list[str]:
        """The continuous streams (not a cuff's occasional readings) that sent nothing."""
        return [_name(s.characteristic) for s in self.profile.subscribe
                if s.expected_rate_hz > 0 and not self.values.get(normalize_uuid(s.characteristic))]

    def received(self) -> str:
        """E.g. "3 Heart Rate Measurement, 40 Polar PMD Data"."""
        return ", ".join(f"{self.values[uuid]} {_name(s.characteristic)}"
                         for s in self.profile.subscribe
                         if (uuid := normalize_uuid(s.characteristic)) in self.values)

    @property
    def passed(self) -> bool:
        return self.set_up and not self.silent_streams()

    def record(self, notification: Notification) -> None:
        try:
            value = decode(notification.characteristic, notification.payload)
        except DecodeError:
            self.decode_errors += 1
            return
        if isinstance(value, BatteryLevel):
            self.battery_percent = value.percent
        self.values[notification.characteristic] = \
            self.values.get(notification.characteristic, 0) + 1


def _name(characteristic: str) -> str:
    codec = DECODERS.get(normalize_uuid(characteristic))
    return codec.NAME if codec else characteristic


async def check_devices(config: Config, timeout_s: float) -> list[DeviceCheck]:
    """Connect to every BLE device in `config` as the gateway would, until each has set up and
    sent a value on each of its continuous streams, or `timeout_s` has passed."""
    from edge.gateway import ble_central

    central = ble_central(config, time.time)
    if central is None:
        return []
    checks = {c.device_id: DeviceCheck(c.device_id, c.profile)
              for c in central.connections.values()}
    running = asyncio.create_task(central.run(lambda n: checks[n.device_id].record(n)))
    try:
        async with asyncio.timeout(timeout_s):
            while not all(check.passed for check in checks.values()):
                _observe(central.connections.values(), checks)
                await asyncio.sleep(_POLL_S)
    except TimeoutError:
        pass
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    _observe(central.connections.values(), checks)
    return list(checks.values())


def _observe(connections: Any, checks: dict[str, DeviceCheck]) -> None:
    for connection in connections:
        check = checks[connection.device_id]
        check.last_state = connection.state
        check.set_up |= connection.state is State.STREAMING
        check.failures = [failure.value for failure in connection.counters.failures]
