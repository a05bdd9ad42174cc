"""`edge provision` as a technician runs it: virtual wearables on the emulated BlueZ (served by
`edge sim` in a process of its own), a real Mosquitto with mutual TLS and certificates made
here. From a manifest, then again (nothing changes), interactively, and every way it must
refuse, leaving what was there untouched; and the gateway it set up runs."""

import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from edge.config import load_config
from edge.demo.broker import BrokerTls, LocalMosquitto, free_loopback_port
from edge.page.pin import check_pin, read_pin
from edge.sim.session import devices_in_another_process
from tests.conftest import Subscriber
from tests.gateway_process import GatewayProcess
from tests.uplink.pki import NOW, Authority, Issued

H10, CUFF = "C0:DE:00:00:00:01", "C0:DE:00:00:00:02"
SCENARIOS = Path(__file__).parents[1] / "scenarios"
@pytest.fixture(scope="module")
def wearables() -> Iterator[dict[str, str]]:
    """The environment of a process that sees the virtual wearables as its Bluetooth."""
    with devices_in_another_process(SCENARIOS / "living_room.toml") as environment:
        yield environment


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    folder = tmp_path_factory.mktemp("from-the-care-team")
    ca = Authority(folder, "care-team-ca")
    return {"ca": ca.issued, "server": ca.issue("broker", hosts=("localhost",)),
            "client": ca.issue("gw-0042", client=True),
            "expired": ca.issue("gw-expired", client=True, valid_until=NOW)}


@pytest.fixture(scope="module")
def tls_broker(pki: dict[str, Issued]) -> Iterator[LocalMosquitto]:
    with LocalMosquitto(tls=BrokerTls(pki["ca"].cert_file, pki["server"].cert_file,
                                      pki["server"].key_file)) as broker:
        yield broker


@pytest.fixture
def tls_port(tls_broker: LocalMosquitto) -> int:
    assert tls_broker.tls is not None
    return tls_broker.tls.port


def provision(env: dict[str, str], config: Path, *args: str,
              answers: str = "") -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "edge", "provision", "--config", str(config),
         "--scan-seconds", "2", *args], input=answers, capture_output=True, text=True,
        timeout=180, env=env)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def manifest(folder: Path, broker: LocalMosquitto, pki: dict[str, Issued]) -> Path:
    assert broker.tls is not None
    path = folder / "gw-0042.toml"
    path.write_text(f"""
gateway_id = "gw-0042"
patient = "patient-0001"
data_dir = "{folder / 'data'}"

[broker]
host = "localhost"
port = {broker.tls.port}
ca_file = "{pki['ca'].cert_file}"
cert_file = "{pki['client'].cert_file}"
key_file = "{pki['client'].key_file}"

[[devices]]
profile = "polar_h10"

[[devices]]
profile = "generic_blood_pressure"
id = "cuff-01"
""")
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_from_a_manifest_then_again_and_the_gateway_it_set_up_runs(
    tmp_path: Path, wearables: dict[str, str], tls_broker: LocalMosquitto,
    pki: dict[str, Issued], subscribe: Callable[..., Subscriber],
    validators: dict[str, Draft202012Validator], monkeypatch: pytest.MonkeyPatch,
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    config_path = etc / "gateway.toml"
    # A config already there: what provisioning does not ask about is kept.
    config_path.write_text('[gateway]\nid = "gw-old"\n\n[uplink]\nplaintext = true\n\n'
                           "[summary]\nperiod_s = 1\n")
    subscriber = subscribe(tls_broker)
    first = provision(wearables, config_path, "--manifest",
                      str(manifest(tmp_path, tls_broker, pki)))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ok    broker: a message went there and back over mutual TLS" in first.stdout
    assert "ok    polar-h10-01 (Polar H10): connected, set up" in first.stdout
    assert "Heart Rate Measurement" in first.stdout and "battery 90 %" in first.stdout
    assert "ok    cuff-01 (Blood-pressure cuff" in first.stdout
    assert "Config written" in first.stdout

    config = load_config(config_path)
    assert config.gateway.id == "gw-0042" and config.summary.period_s == 1
    assert not config.uplink.plaintext and config.uplink.host == "localhost"
    assert [(d.id, d.address, d.profile, d.patient) for d in config.devices] == [
        ("polar-h10-01", H10, "polar_h10", "patient-0001"),
        ("cuff-01", CUFF, "generic_blood_pressure", "patient-0001")]
    for key, source, file_mode in [("ca_file", pki["ca"].cert_file, 0o644),
                                   ("cert_file", pki["client"].cert_file, 0o644),
                                   ("key_file", pki["client"].key_file, 0o600)]:
        installed = etc / getattr(config.uplink.tls, key)
        assert installed.read_bytes() == source.read_bytes() and mode(installed) == file_mode
    assert mode(config_path) == 0o600
    assert (etc / "gateway.toml.bak").read_text().startswith('[gateway]\nid = "gw-old"')
    subscriber.wait_for(lambda s: len(s.of_schema("edge.selftest")) == 1, 10, "the self-test")
    (selftest,) = subscriber.of_schema("edge.selftest")
    validators["selftest"].validate(selftest)

    written = config_path.read_bytes()
    again = provision(wearables, config_path, "--manifest",
                      str(manifest(tmp_path, tls_broker, pki)))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Config unchanged" in again.stdout and config_path.read_bytes() == written

    for variable, value in wearables.items():
        monkeypatch.setenv(variable, value)  # the gateway's Bluetooth: the virtual wearables
    gateway = GatewayProcess(config_path)
    try:
        subscriber.wait_for(lambda s: any(p["device_id"] == "polar-h10-01"
                                          for p in s.of_schema("edge.summary")), 60,
                            "a summary from the provisioned strap")
    finally:
        assert gateway.stop() == 0


def test_interactively_with_devices_picked_from_the_scan_and_a_pin(
    tmp_path: Path, wearables: dict[str, str], tls_port: int, pki: dict[str, Issued],
) -> None:
    config_path = tmp_path / "gateway.toml"
    answers = [
        "gw-0043", "patient-0002", "localhost", str(tls_port),
        "n",  # TLS, though the broker is on this machine
        str(pki["ca"].cert_file), str(pki["client"].cert_file), str(pki["client"].key_file),
        "",  # no update key
        "7",  # not a number on the list: asked again
        "2",  # the cuff
        "Cuff 1",  # not a pseudonym: asked again
        "cuff-a",
        "y", "2468", "2468"]
    result = provision(wearables, config_path, "--data-dir", str(tmp_path / "data"),
                       answers="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"1. Polar H10: Polar H10 00000001, {H10}" in result.stdout
    assert "give numbers from 1 to 2" in result.stdout
    assert "must be 1 to 64 letters" in result.stdout
    config = load_config(config_path)
    assert config.gateway.id == "gw-0043"
    assert [(d.id, d.address) for d in config.devices] == [("cuff-a", CUFF)]
    stored = read_pin(config.page_pin_path)
    assert stored is not None and check_pin("2468", stored)
    assert mode(config.page_pin_path) == 0o600
    assert "2468" not in config_path.read_text()


def test_every_refusal_says_why_and_leaves_everything_as_it_was(
    tmp_path: Path, wearables: dict[str, str], tls_port: int, pki: dict[str, Issued],
) -> None:
    config_path = tmp_path / "gateway.toml"
    base = ["--non-interactive", "--gateway-id", "gw-0044", "--patient", "patient-0003",
            "--broker", f"localhost:{tls_port}", "--ca", str(pki["ca"].cert_file),
            "--data-dir", str(tmp_path / "data")]
    client = ["--cert", str(pki["client"].cert_file), "--key", str(pki["client"].key_file)]
    bad_manifest = tmp_path / "bad.toml"
    bad_manifest.write_text('gateway_id = "gw-1"\n[brokr]\nhost = "x"\n')
    cases = [
        (["--cert", str(pki["expired"].cert_file), "--key", str(pki["expired"].key_file),
          "--device", "polar_h10"], 1, "CN=gw-expired: expired on"),
        ([*client, "--device", "generic_thermometer"], 1,
         "no unbound generic_thermometer device is advertising nearby"),
        ([*client, "--device", "polar_h10@A0:9E:1A:99:99:99", "--device-timeout", "3"], 1,
         "FAIL  polar-h10-01 (Polar H10): waiting for advertisement"),
        ([*client, "--broker", f"localhost:{free_loopback_port()}", "--no-device-test"], 1,
         "FAIL  broker: cannot connect"),
        ([*client, "--device", "polar_h10@not-an-address"], 2,
         "devices[0].address: must be an address like"),
        (["--manifest", str(bad_manifest)], 2, "bad.toml: brokr: unknown key"),
        (["--cert", str(pki["client"].cert_file)], 2, "give --cert and --key"),
    ]
    for args, code, said in cases:
        result = provision(wearables, config_path, *base, *args)
        assert result.returncode == code and said in result.stdout + result.stderr, (
            args, result.stdout, result.stderr)
        assert "Nothing was" in result.stdout + result.stderr
        assert not config_path.exists() and not (tmp_path / "tls").exists()

    config_path.write_text('[gateway]\nid = "gw-1"\nbogus = 1\n')
    result = provision(wearables, config_path, *base, *client)
    assert result.returncode == 2 and "gateway.bogus: unknown key" in result.stdout
    assert config_path.read_text() == '[gateway]\nid = "gw-1"\nbogus = 1\n'
