"""Remote updates and consent through a real Mosquitto and a gateway process."""

import json
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.publish as publish
from cryptography.hazmat.primitives import serialization
from jsonschema import Draft202012Validator

from edge.control.signing import sign
from edge.demo.broker import LocalMosquitto
from tests.conftest import Subscriber
from tests.control.test_updates import KEY, LATER, REVOKE
from tests.gateway_process import GatewayProcess, outbox_state, wait_until, write_config


def gateway_config(path: Path, port: int, consent: str = "") -> Path:
    public = path.parent / "care-team.pub"
    public.write_bytes(KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return write_config(path, port, extra=f'[control]\npublic_key_file = "{public}"\n{consent}')


def test_a_signed_consent_withdrawal_over_mqtt_stops_summaries_at_once(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
    validators: dict[str, Draft202012Validator],
) -> None:
    subscriber = subscribe(broker)
    gateway = GatewayProcess(gateway_config(tmp_path / "gw.toml", broker.port))
    try:
        subscriber.wait_for(lambda s: len(s.of_schema("edge.summary")) >= 2, 30, "summaries")
        publish.single("edge/v1/gw-test/control/update",
                       sign("config", 1, LATER, json.dumps(REVOKE).encode(), KEY), qos=1,
                       hostname=broker.host, port=broker.port)
        subscriber.wait_for(lambda s: bool(s.of_schema("edge.control_response")), 20,
                            "the gateway's answer")
        after_answer = len(subscriber.of_schema("edge.summary"))
        time.sleep(3)
    finally:
        assert gateway.stop() == 0
    (response,) = subscriber.of_schema("edge.control_response")
    assert response["accepted"] and response["version"] == 1
    assert list(validators["control_response"].iter_errors(response)) == []
    # At most one summary was already in flight when the answer was queued.
    assert len(subscriber.of_schema("edge.summary")) <= after_answer + 1
    assert "remote config update 1 taken" in gateway.log()


def test_summaries_queued_before_consent_was_withdrawn_are_never_published(
    tmp_path: Path, subscribe: Callable[..., Subscriber],
) -> None:
    broker = LocalMosquitto()  # not started yet: the gateway queues
    config = gateway_config(tmp_path / "gw.toml", broker.port)
    first = GatewayProcess(config)
    try:
        wait_until(lambda: first.outbox_path.exists()
                   and outbox_state(first.outbox_path)["pending"] >= 3, 30, "a backlog")
    finally:
        assert first.stop() == 0
    gateway_config(config, broker.port, consent='[[consent]]\npatient = "patient-0001"\n'
                                               "summaries = false\n")
    with broker:
        subscriber = subscribe(broker)
        second = GatewayProcess(config)
        try:
            subscriber.wait_for(lambda s: bool(s.of_schema("edge.status")), 20, "the gateway")
            time.sleep(3)
            assert outbox_state(second.outbox_path)["pending"] == 0
        finally:
            assert second.stop() == 0
    assert subscriber.of_schema("edge.summary") == []
    assert "consent: " in second.log() and "withheld (summary, diagnostic)" in second.log()
