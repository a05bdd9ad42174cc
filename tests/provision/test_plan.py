"""The pure part of `edge provision`: which device each request binds, the merged config, and
the TOML it is written as."""

import tomllib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from edge.config import parse_config
from edge.provision.manifest import BrokerRequest, DeviceRequest, ProvisionRequest, overlay
from edge.provision.plan import (
    Binding,
    PlacedFiles,
    Sighting,
    bindings_for,
    merged_config,
    plaintext_wanted,
)
from edge.typed_toml import dumps

STRAP, CUFF, OTHER_STRAP = "A0:9E:1A:00:00:01", "C0:DE:00:00:00:02", "A0:9E:1A:00:00:03"
SEEN = [Sighting(STRAP.lower(), "polar_h10", "Polar H10 1", -70),
        Sighting(OTHER_STRAP, "polar_h10", "Polar H10 3", -50),
        Sighting(CUFF, "generic_blood_pressure", "BPM", -60)]
EXISTING: dict[str, Any] = {
    "gateway": {"id": "gw-1", "data_dir": "data"},
    "uplink": {"host": "localhost", "port": 1883, "plaintext": True},
    "summary": {"period_s": 5},
    "devices": [{"id": "h10-01", "patient": "patient-1", "link": "ble", "address": STRAP,
                 "profile": "polar_h10", "limits": {"heart_rate_high_bpm": 130.0}}],
}


def test_a_request_by_profile_binds_the_nearest_unbound_device_of_that_profile() -> None:
    bindings, problems = bindings_for([DeviceRequest("polar_h10")], "patient-2", [], SEEN)
    assert problems == []
    assert bindings == [Binding(OTHER_STRAP, "polar_h10", "patient-2")]  # -50 dBm beats -70


def test_a_device_already_bound_to_the_patient_meets_the_same_request_again() -> None:
    requests = [DeviceRequest("polar_h10"), DeviceRequest("generic_blood_pressure")]
    bindings, problems = bindings_for(requests, "patient-1", EXISTING["devices"], SEEN)
    assert problems == []
    assert [b.address for b in bindings] == [STRAP, CUFF]


def test_requests_that_cannot_be_met_are_each_named() -> None:
    requests = [DeviceRequest("generic_thermometer"), DeviceRequest("polar_h10"),
                DeviceRequest("polar_h10"), DeviceRequest("polar_h10")]
    bindings, problems = bindings_for(requests, "", [], SEEN)
    assert bindings == [] and len(problems) == 4 and "no patient" in problems[0]
    bindings, problems = bindings_for(requests, "patient-2", [], SEEN)
    assert [b.address for b in bindings] == [OTHER_STRAP, STRAP.upper()]
    assert problems == [
        "devices[0]: no unbound generic_thermometer device is advertising nearby",
        "devices[3]: no unbound polar_h10 device is advertising nearby"]


def test_merging_keeps_what_was_not_asked_about_and_merging_again_changes_nothing() -> None:
    request = ProvisionRequest(gateway_id="gw-2", patient="patient-1",
                               broker=BrokerRequest(host="mqtt.care.example", port=8883,
                                                    cert_file="/x/gw.pem", key_file="/x/gw.key"))
    bindings = [Binding(STRAP.lower(), "polar_h10", "patient-1"),
                Binding(CUFF, "generic_blood_pressure", "patient-1", "cuff-01")]
    placed = PlacedFiles(cert_file="tls/gateway.pem", key_file="tls/gateway.key")
    merged = merged_config(EXISTING, request, bindings, placed)
    assert merged["summary"] == {"period_s": 5}
    assert merged["uplink"] == {"host": "mqtt.care.example", "port": 8883,
                                "tls": {"cert_file": "tls/gateway.pem",
                                        "key_file": "tls/gateway.key"}}
    strap, cuff = merged["devices"]
    assert strap["id"] == "h10-01" and strap["limits"] == {"heart_rate_high_bpm": 130.0}
    assert cuff == {"id": "cuff-01", "patient": "patient-1", "link": "ble", "address": CUFF,
                    "profile": "generic_blood_pressure"}
    parse_config(merged)  # a valid config
    assert merged_config(merged, request, bindings, placed) == merged
    assert EXISTING["uplink"]["plaintext"] is True  # the input is not changed


def test_a_replaced_device_keeps_its_id_and_settings_under_its_new_address() -> None:
    bindings = [Binding(OTHER_STRAP, "polar_h10", "patient-1", "h10-01")]
    (device,) = merged_config(EXISTING, ProvisionRequest(), bindings, PlacedFiles())["devices"]
    assert device["address"] == OTHER_STRAP and device["limits"]["heart_rate_high_bpm"] == 130


def test_new_devices_get_ids_from_their_profile() -> None:
    bindings = [Binding(OTHER_STRAP, "polar_h10", "patient-1"),
                Binding(CUFF, "generic_blood_pressure", "patient-1")]
    merged = merged_config(EXISTING, ProvisionRequest(), bindings, PlacedFiles())
    assert [d["id"] for d in merged["devices"]] == ["h10-01", "polar-h10-01",
                                                    "blood-pressure-01"]


def test_plaintext_is_kept_unless_asked_for_or_certificates_are_given() -> None:
    assert plaintext_wanted(ProvisionRequest(), EXISTING)
    assert not plaintext_wanted(ProvisionRequest(broker=BrokerRequest(cert_file="c")), EXISTING)
    assert not plaintext_wanted(ProvisionRequest(broker=BrokerRequest(plaintext=False)),
                                EXISTING)
    assert plaintext_wanted(ProvisionRequest(broker=BrokerRequest(plaintext=True)), {})


def test_flags_override_the_manifest_and_add_devices() -> None:
    manifest = ProvisionRequest(gateway_id="gw-1", patient="patient-1",
                                broker=BrokerRequest(host="a", port=8883, plaintext=False),
                                devices=[DeviceRequest("polar_h10")])
    flags = ProvisionRequest(patient="patient-2", broker=BrokerRequest(port=9883),
                             devices=[DeviceRequest("generic_thermometer")])
    result = overlay(manifest, flags)
    assert (result.gateway_id, result.patient) == ("gw-1", "patient-2")
    assert (result.broker.host, result.broker.port, result.broker.plaintext) == ("a", 9883, False)
    assert [d.profile for d in result.devices] == ["polar_h10", "generic_thermometer"]


_keys = st.text(st.characters(codec="utf-8"), min_size=1,
                max_size=12)
_scalars = (st.text(st.characters(codec="utf-8"), max_size=20)
            | st.booleans() | st.integers(-2**63, 2**63 - 1)
            | st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(
    _scalars | st.lists(_scalars, max_size=4),
    lambda inner: st.dictionaries(_keys, inner, max_size=4)
    | st.lists(st.dictionaries(_keys, inner, min_size=1, max_size=3), min_size=1, max_size=3),
    max_leaves=20)


@given(st.dictionaries(_keys, _values, max_size=6))
def test_the_written_toml_reads_back_equal(table: dict[str, Any]) -> None:
    assert tomllib.loads(dumps(table)) == table


def test_the_example_manifest_is_valid() -> None:
    from pathlib import Path

    from edge.provision.manifest import load_manifest

    example = Path(__file__).resolve().parents[2] / "etc" / "manifest.example.toml"
    request = load_manifest(example)
    assert request.gateway_id == "gw-0042" and len(request.devices) == 2
    assert request.broker.cert_file == str(example.parent / "certs" / "gw-0042.pem")
