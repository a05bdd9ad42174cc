import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import config_reference
from edge.config import load_config, parse_config
from edge.typed_toml import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def errors_of(table: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(table)
    return caught.value.errors


def test_minimal_config_takes_every_default() -> None:
    config = parse_config({"gateway": {"id": "gw-1"}})
    assert (config.uplink.port, config.uplink.plaintext) == (8883, False)  # MQTT over TLS
    assert config.summary.period_s == 60
    assert config.detect.heart_rate.high_bpm == 120.0
    assert config.devices == []


def test_the_example_file_is_valid() -> None:
    config = load_config(ROOT / "etc" / "example.toml")
    assert config.devices[0].simulation.episodes[0].bpm == 140.0
    assert config.data_path == ROOT / "etc" / "../var/edge"


def test_every_error_is_reported_with_its_key_path() -> None:
    errors = errors_of({
        "gateway": {"id": "gw-1", "colour": "blue"},
        "uplink": {"port": 70000, "host": 5},
        "summary": {"period_s": "60"},
        "devices": [
            {"id": "strap-01", "patient": "p-1", "link": "bluetooth"},
            {"id": "strap-01", "patient": "p-2", "simulation": {"episodes": [{"bpm": 150}]}},
        ],
    })
    assert errors == [
        "gateway.colour: unknown key",
        "uplink.host: must be a string, got integer 5",
        "uplink.port: must be 1..65535, got 70000",
        "summary.period_s: must be an integer, got string '60'",
        "devices[0].link: must be one of simulated, ble, got 'bluetooth'",
        "devices[1].simulation.episodes[0].start_s: missing, required",
        "devices[1].simulation.episodes[0].duration_s: missing, required",
    ]


def test_ids_must_be_pseudonyms_never_bluetooth_addresses() -> None:
    errors = errors_of({"gateway": {"id": "gw"}, "devices": [
        {"id": "C4:7C:8D:6A:12:34", "patient": "Jane Doe"}]})
    assert errors == [
        "devices[0].id: must be a pseudonym, not a Bluetooth address, got 'C4:7C:8D:6A:12:34'",
        "devices[0].patient: must be 1 to 64 letters, digits, '-' or '_', starting with a "
        "letter or digit, got 'Jane Doe'",
    ]


def test_duplicate_devices_and_overlapping_limits_are_errors() -> None:
    errors = errors_of({
        "gateway": {"id": "gw"},
        "detect": {"heart_rate": {"low_bpm": 100, "high_bpm": 105}},
        "devices": [{"id": "a", "patient": "p"}, {"id": "a", "patient": "p"}],
    })
    assert errors[0].startswith("detect.heart_rate: low_bpm and high_bpm")
    assert errors[1] == "devices[1].id: 'a' is used by an earlier device"


def test_clinician_limits_are_optional_numbers_checked_for_order() -> None:
    device = {"id": "a", "patient": "p"}
    config = parse_config({"gateway": {"id": "gw"}, "devices": [
        device | {"limits": {"heart_rate_high_bpm": 110, "spo2_low_percent": 88.5}}]})
    limits = config.devices[0].limits
    assert (limits.heart_rate_high_bpm, limits.spo2_low_percent) == (110.0, 88.5)
    assert limits.heart_rate_low_bpm is None
    assert errors_of({"gateway": {"id": "gw"}, "devices": [
        device | {"limits": {"systolic_low_mmhg": 150, "systolic_high_mmhg": 140}}]}) == [
        "devices[0].limits: systolic_low_mmhg (150.0) must be below systolic_high_mmhg (140.0)"]
    assert errors_of({"gateway": {"id": "gw"}, "devices": [
        device | {"limits": {"spo2_low_percent": "90", "fever_celsius": 38}}]}) == [
        "devices[0].limits.spo2_low_percent: must be a number, got string '90'",
        "devices[0].limits.fever_celsius: unknown key"]


def test_booleans_are_not_numbers() -> None:
    assert errors_of({"gateway": {"id": "gw"}, "uplink": {"port": True}}) == [
        "uplink.port: must be an integer, got boolean True"]


def run_edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge", *args], capture_output=True, text=True,
                          timeout=60)


def test_config_check_exits_2_and_names_file_key_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[gateway]\nid = "gw"\n[uplink]\nport = 70000\n')
    result = run_edge("config", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{bad}: uplink.port: must be 1..65535, got 70000"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[gateway\nid = "gw"\n', "invalid TOML: Expected ']' at the end of a table declaration "
                                   "(at line 1, column 9)"),
        (b"\xff\xfe", "cannot read: 'utf-8' codec can't decode byte 0xff in position 0"),
        (b"", "gateway: missing, required"),
    ],
)
def test_config_check_reports_unreadable_files(tmp_path: Path, content: bytes,
                                               message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    result = run_edge("config", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: {message}")


def test_config_check_reports_a_missing_file(tmp_path: Path) -> None:
    result = run_edge("config", "check", str(tmp_path / "absent.toml"))
    assert result.returncode == 2
    assert "absent.toml: cannot read: [Errno 2] No such file or directory" in result.stderr


def test_config_check_accepts_the_example() -> None:
    result = run_edge("config", "check", str(ROOT / "etc" / "example.toml"))
    assert (result.returncode, result.stdout.strip()) == (0, f"{ROOT / 'etc' / 'example.toml'}: OK")


def test_docs_config_md_is_the_generated_reference() -> None:
    documented = (ROOT / "docs" / "CONFIG.md").read_text()
    assert config_reference() in documented, "regenerate docs/CONFIG.md with `edge config docs`"
