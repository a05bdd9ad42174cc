import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from jsonschema import Draft202012Validator
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from referencing import Registry, Resource

from edge.demo.broker import LocalMosquitto
from edge.messages.schemas import MESSAGE_TYPES, load_schema
from edge.sim.bluez import SYSTEM_BUS_VARIABLE, PrivateSystemBus


@pytest.fixture
def broker() -> Iterator[LocalMosquitto]:
    """A real Mosquitto on a free loopback port, private to one test."""
    with LocalMosquitto() as running:
        yield running


@pytest.fixture
def system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private dbus-daemon that bleak takes for the system bus; yields its address."""
    with PrivateSystemBus() as bus:
        monkeypatch.setenv(SYSTEM_BUS_VARIABLE, bus.address)
        yield bus.address


@pytest.fixture(scope="session")
def validators() -> dict[str, Draft202012Validator]:
    schemas = {name: load_schema(name) for name in ("common", *MESSAGE_TYPES)}
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {
        name: Draft202012Validator(schemas[name], registry=registry) for name in MESSAGE_TYPES
    }


class Subscriber:
    """A care-team-side MQTT client with a persistent session, so that the broker keeps what
    arrives while it is away; records every message it receives."""

    def __init__(self, host: str, port: int, topic: str = "edge/v1/#",
                 client_id: str = "test-subscriber") -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._topic = topic
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(1, 1)
        session = Properties(PacketTypes.CONNECT)
        session.SessionExpiryInterval = 3600
        self._client.connect_async(host, port, clean_start=False, properties=session)
        self._client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, json.loads(message.payload)))

    def of_schema(self, schema: str) -> list[dict[str, Any]]:
        with self._lock:
            return [payload for _, payload in self.messages if payload.get("schema") == schema]

    def wait_for(self, condition: Callable[["Subscriber"], bool], timeout_s: float,
                 what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition(self):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; received "
                             f"{len(self.messages)} messages: {self.sequence_numbers()}")

    def sequence_numbers(self) -> dict[str, list[int]]:
        with self._lock:
            numbers: dict[str, set[int]] = {}
            for topic, payload in self.messages:
                numbers.setdefault(topic, set()).add(payload.get("seq", 0))
        return {topic: sorted(seqs) for topic, seqs in numbers.items()}

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(broker: LocalMosquitto, **kwargs: Any) -> Subscriber:
        subscriber = Subscriber(broker.host, broker.port, **kwargs)
        made.append(subscriber)
        return subscriber

    yield make
    for subscriber in made:
        subscriber.close()
