from pathlib import Path

import pytest

from edge.config import parse_config
from edge.gatt.uuids import normalize_uuid
from edge.profiles import Advertisement, best_match, default_profiles_dir, load_profiles
from edge.profiles.profile import load_profile, profiles_for
from edge.typed_toml import ConfigError

HEART_RATE_SERVICE = normalize_uuid("180d")
POLAR = 0x006B


def advertisement(name: str | None, services: tuple[str, ...] = (),
                  manufacturers: tuple[int, ...] = ()) -> Advertisement:
    return Advertisement("A0:9E:1A:00:00:01", name, services, manufacturers, -60)


def test_shipped_profiles_are_valid_and_cover_every_device_kind() -> None:
    profiles = load_profiles(default_profiles_dir())
    assert set(profiles) == {
        "generic_heart_rate", "polar_h10", "generic_pulse_oximeter", "generic_thermometer",
        "generic_blood_pressure", "generic_glucose_meter", "generic_cgm"}


def test_the_most_specific_profile_wins() -> None:
    profiles = load_profiles(default_profiles_dir()).values()
    polar = advertisement("Polar H10 8C4D2E21", (HEART_RATE_SERVICE,), (POLAR,))
    other_strap = advertisement("HRM-Dual", (HEART_RATE_SERVICE,))
    cuff = advertisement("BP7000", (normalize_uuid("1810"),))
    stranger = advertisement("Headphones", (normalize_uuid("110b"),))
    assert best_match(profiles, polar).id == "polar_h10"  # type: ignore[union-attr]
    assert best_match(profiles, other_strap).id == "generic_heart_rate"  # type: ignore[union-attr]
    assert best_match(profiles, cuff).id == "generic_blood_pressure"  # type: ignore[union-attr]
    assert best_match(profiles, stranger) is None


def test_polar_profile_starts_ecg_at_130_hz() -> None:
    polar = load_profile(default_profiles_dir() / "polar_h10.toml")
    assert polar.setup[0].payload == bytes.fromhex("0200000182000101 0e00")


def test_every_error_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("""
id = "Broken"
name = "x"
description = "y"
[match]
name_pattern = "("
service_uuids = ["not-a-uuid"]
manufacturer_id = 70000
[[subscribe]]
characteristic = "2a37"
mode = "shout"
[[setup]]
characteristic = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
value = "zz"
purpose = "start"
""")
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    assert caught.value.errors == [
        "broken.toml: id: must be lower-case letters, digits and '_', got 'Broken'",
        "broken.toml: match.name_pattern: must be a regular expression: missing ), unterminated "
        "subpattern at position 0",
        "broken.toml: match.service_uuids: must be a 16-, 32- or 128-bit Bluetooth UUID, got "
        "'not-a-uuid'",
        "broken.toml: match.manufacturer_id: must be -1..65535, got 70000",
        "broken.toml: subscribe[0].mode: must be one of notify, indicate, got 'shout'",
        "broken.toml: setup[0].value: must be bytes in hexadecimal, e.g. \"02 00 01\", got 'zz'",
    ]
    assert str(caught.value).startswith(f"{tmp_path}: broken.toml: id: ")


def test_a_profile_must_be_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "strap.toml"
    path.write_text('id = "other"\nname = "x"\ndescription = "y"\n[match]\n')
    with pytest.raises(ConfigError, match="id: must match the file name 'strap', got 'other'"):
        load_profile(path)


def test_a_subscription_needs_a_decoder(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text('id = "odd"\nname = "x"\ndescription = "y"\n[match]\n'
                    '[[subscribe]]\ncharacteristic = "2aff"\n')
    with pytest.raises(ConfigError, match=r"subscribe\[0\].characteristic: the gateway has no "
                       r"decoder for characteristic '2aff'"):
        load_profile(path)


def ble_config(**device: str) -> dict[str, object]:
    return {"gateway": {"id": "gw"}, "devices": [
        {"id": "strap-01", "patient": "p-1", "link": "ble"} | device]}


def test_ble_devices_need_an_address_and_a_known_profile() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(ble_config())
    assert caught.value.errors == ['devices[0].address: required when link = "ble"',
                                   'devices[0].profile: required when link = "ble"']
    with pytest.raises(ConfigError) as caught:
        parse_config(ble_config(address="A0:9E:1A:00:00:0"))
    assert caught.value.errors[0] == (
        "devices[0].address: must be an address like A0:9E:1A:12:34:56, got 'A0:9E:1A:00:00:0'")
    config = parse_config(ble_config(address="A0:9E:1A:00:00:01", profile="polar_h11"))
    with pytest.raises(ConfigError, match=r"devices\[0\].profile: no profile 'polar_h11' in .*"
                       r"\(there are: generic_blood_pressure, "):
        profiles_for(config)
    config = parse_config(ble_config(address="A0:9E:1A:00:00:01", profile="polar_h10"))
    assert profiles_for(config)["strap-01"].name == "Polar H10"
