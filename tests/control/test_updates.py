"""Signed remote updates: refused unless signature, expiry, version and digest all check; every
one audited in a hash chain and answered; what was taken survives a restart."""

import base64
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from edge.config import Config, ControlSettings, parse_config
from edge.control.audit import verify_chain
from edge.control.signing import sign
from edge.gateway import Gateway
from edge.messages.payloads import OutgoingMessage
from edge.shipped import shipped_dir

KEY = Ed25519PrivateKey.generate()
STRANGER = Ed25519PrivateKey.generate()
LATER = time.time() + 3600


def config(tmp_path: Path, *, with_key: bool = True) -> Config:
    public = tmp_path / "care-team.pub"
    public.write_bytes(KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return parse_config({
        "gateway": {"id": "gw-1", "data_dir": str(tmp_path / "data")},
        "uplink": {"plaintext": True},
        "control": {"public_key_file": str(public) if with_key else ""},
        "devices": [{"id": "strap-01", "patient": "patient-0001"}],
    })


def config_update(version: int, body: dict[str, Any], key: Ed25519PrivateKey = KEY,
                  expires_at: float = LATER) -> bytes:
    return sign("config", version, expires_at, json.dumps(body).encode(), key)


def answer(gateway: Gateway, envelope: bytes) -> dict[str, Any]:
    message: OutgoingMessage = gateway.remote.handle(envelope)
    assert message.topic == "edge/v1/gw-1/control/response"
    return message.payload


REVOKE = {"consent": [{"patient": "patient-0001", "summaries": False}]}
LIMITS = {"limits": {"strap-01": {"heart_rate_high_bpm": 110}}}


def tampered(envelope: bytes) -> bytes:
    fields = json.loads(envelope)
    fields["body"] = base64.b64encode(json.dumps(LIMITS).encode()).decode()
    return json.dumps(fields).encode()


def unsigned(envelope: bytes) -> bytes:
    fields = json.loads(envelope)
    del fields["signature"]
    return json.dumps(fields).encode()


@pytest.mark.parametrize(("envelope", "reason"), [
    (config_update(1, REVOKE, STRANGER), "the signature does not verify with this gateway's key"),
    (unsigned(config_update(1, REVOKE)), "unsigned"),
    (tampered(config_update(1, REVOKE)), "the body does not match its sha256"),
    (config_update(1, REVOKE, expires_at=time.time() - 1), "expired at "),
    (config_update(1, {"consent": [{"patient": "Jane Doe"}]}), "body: consent: patient: "),
    (config_update(1, {"limits": {"strap-99": {}}}), "limits: no device strap-99"),
    (b"\x00garbage", "not a JSON update envelope"),
])
def test_a_bad_update_is_refused_with_its_reason_and_changes_nothing(
    tmp_path: Path, envelope: bytes, reason: str,
    validators: dict[str, Draft202012Validator],
) -> None:
    gateway = Gateway(config(tmp_path))
    response = answer(gateway, envelope)
    assert (response["accepted"], response["reason"][:len(reason)]) == (False, reason)
    assert list(validators["control_response"].iter_errors(response | {"seq": 1})) == []
    assert gateway.consent.withheld("patient-0001") == []
    gateway.close()


def test_an_update_is_taken_once_and_never_downgraded_and_the_audit_chain_holds(
    tmp_path: Path,
) -> None:
    gateway = Gateway(config(tmp_path))
    assert answer(gateway, config_update(5, REVOKE))["accepted"]
    assert gateway.consent.withheld("patient-0001") == ["summary", "diagnostic"]
    replayed = answer(gateway, config_update(5, LIMITS))
    older = answer(gateway, config_update(4, LIMITS))
    assert not replayed["accepted"] and not older["accepted"]
    assert "version 4 is not newer than 5" in older["reason"]
    assert answer(gateway, config_update(6, LIMITS))["accepted"]
    gateway.close()
    audit = tmp_path / "data" / "audit.log"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["version"], e["accepted"]) for e in entries] == [
        (5, True), (5, False), (4, False), (6, True)]
    assert verify_chain(audit) is None
    assert audit.stat().st_mode & 0o777 == 0o600
    lines = audit.read_text().splitlines()
    audit.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # a refusal erased
    assert verify_chain(audit) == 2
    # What was taken holds after a restart, and the version count goes on.
    restarted = Gateway(config(tmp_path))
    assert restarted.consent.withheld("patient-0001") == ["summary", "diagnostic"]
    assert not answer(restarted, config_update(6, REVOKE))["accepted"]
    restarted.close()


def test_without_a_provisioned_key_every_update_is_refused(tmp_path: Path) -> None:
    gateway = Gateway(config(tmp_path, with_key=False))
    response = answer(gateway, config_update(1, REVOKE))
    assert not response["accepted"] and "no public key is provisioned" in response["reason"]
    gateway.close()


def model_update(version: int, files: dict[str, bytes], key: Ed25519PrivateKey = KEY) -> bytes:
    body = {"files": {name: base64.b64encode(data).decode() for name, data in files.items()}}
    return sign("model", version, LATER, json.dumps(body).encode(), key)


def package(name: str) -> dict[str, bytes]:
    folder = shipped_dir("models") / name
    return {path.name: path.read_bytes() for path in folder.iterdir()
            if path.suffix in (".json", ".onnx", ".tflite")}


def test_a_model_update_is_checked_beside_the_old_one_before_it_runs(tmp_path: Path) -> None:
    gateway = Gateway(config(tmp_path))
    running = gateway.model_names()
    old_model = gateway._models.af_rr
    corrupt = package("af_rr")
    name = next(n for n in corrupt if n.endswith(".tflite") and "int8" in n)
    corrupt[name] = corrupt[name][:-1] + bytes([corrupt[name][-1] ^ 1])
    refused = answer(gateway, model_update(1, corrupt))
    assert not refused["accepted"] and refused["reason"].startswith("model refused: ")
    assert "sha256" in refused["reason"]
    assert gateway._models.af_rr is old_model  # the old one keeps running
    assert not (tmp_path / "data" / "models" / "af_rr").exists()
    taken = answer(gateway, model_update(2, package("af_rr")))
    assert taken["accepted"] and taken["reason"].startswith("model af_rr 1.1.0 running")
    assert (tmp_path / "data" / "models" / "af_rr" / "manifest.json").exists()
    assert gateway._models.af_rr is not old_model
    assert gateway.model_names() == running
    assert not list((tmp_path / "data" / "models").glob(".staging-*"))
    gateway.close()


def test_the_care_teams_tool_makes_keys_and_updates_a_gateway_takes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from tools.sign_update import main

    private, public = tmp_path / "team.key", tmp_path / "team.pub"
    main(["new-key", str(private), str(public)])
    assert private.stat().st_mode & 0o777 == 0o600
    body = tmp_path / "body.json"
    body.write_text(json.dumps(LIMITS))
    main(["sign", str(body), "--key", str(private), "--kind", "config", "--version", "9"])
    envelope = capsys.readouterr().out.strip().encode()
    main(["package", str(shipped_dir("models") / "pvc_beat")])
    model_body = tmp_path / "model.json"
    model_body.write_text(capsys.readouterr().out)
    main(["sign", str(model_body), "--key", str(private), "--kind", "model", "--version", "1"])
    model_envelope = capsys.readouterr().out.strip().encode()
    gateway = Gateway(dataclasses.replace(config(tmp_path), control=ControlSettings(
        public_key_file=str(public))))
    assert answer(gateway, envelope)["accepted"]
    taken = answer(gateway, model_envelope)
    assert taken["accepted"] and taken["reason"].startswith("model pvc_beat 2.0.0 running")
    gateway.close()
