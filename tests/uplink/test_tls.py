"""Mutual TLS to a real Mosquitto with certificates made by the test: the gateway publishes when
everything checks, and fails closed, saying why, when anything does not."""

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.demo.broker import BrokerTls, LocalMosquitto
from tests.conftest import Subscriber
from tests.gateway_process import GatewayProcess, outbox_state, wait_until
from tests.uplink.pki import NOW, Authority, Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = Authority(folder, "care-team-ca"), Authority(folder, "someone-else-ca")
    return {
        "ca": ca.issued, "other_ca": other.issued,
        "server": ca.issue("broker", hosts=("localhost", "127.0.0.1")),
        "client": ca.issue("gw-tls", client=True),
        "expired": ca.issue("gw-expired", client=True, valid_from=NOW - dt.timedelta(days=60),
                            valid_until=NOW - dt.timedelta(days=1)),
        "stranger": other.issue("gw-stranger", client=True),
        "misnamed_server": ca.issue("broker-elsewhere", hosts=("broker.example.org",)),
    }


@pytest.fixture
def tls_broker(pki: dict[str, Issued]) -> Iterator[LocalMosquitto]:
    tls = BrokerTls(pki["ca"].cert_file, pki["server"].cert_file, pki["server"].key_file)
    with LocalMosquitto(tls=tls) as broker:
        yield broker


def tls_config(path: Path, broker: LocalMosquitto, *, ca: Issued, client: Issued | None,
               host: str = "localhost") -> Path:
    assert broker.tls is not None
    client_keys = (f'cert_file = "{client.cert_file}"\nkey_file = "{client.key_file}"\n'
                   if client else "")
    path.write_text(f"""
[gateway]
id = "gw-tls"
data_dir = "data"

[uplink]
host = "{host}"
port = {broker.tls.port}
reconnect_max_s = 1

[uplink.tls]
ca_file = "{ca.cert_file}"
{client_keys}
[summary]
period_s = 1

[[devices]]
id = "strap-01"
patient = "patient-0001"
""")
    return path


def test_with_mutual_tls_summaries_reach_the_broker(
    tmp_path: Path, tls_broker: LocalMosquitto, pki: dict[str, Issued],
    subscribe: Callable[..., Subscriber],
) -> None:
    subscriber = subscribe(tls_broker)  # on the broker's loopback listener
    gateway = GatewayProcess(tls_config(tmp_path / "gw.toml", tls_broker, ca=pki["ca"],
                                        client=pki["client"]))
    try:
        subscriber.wait_for(lambda s: len(s.of_schema("edge.summary")) >= 2, 30,
                            "summaries over mutual TLS")
    finally:
        assert gateway.stop() == 0
    assert "cannot reach the broker" not in gateway.log()


@pytest.mark.parametrize(("ca", "client", "host", "said"), [
    ("other_ca", "client", "localhost", "(the broker's certificate was refused: "),
    ("ca", "expired", "localhost", "(the broker refused this gateway's certificate: it has "
                                   "expired)"),
    ("ca", "stranger", "localhost", "(the broker refused this gateway's certificate: not "
                                    "issued by a CA the broker trusts)"),
])
def test_a_refused_certificate_fails_closed_and_says_why(
    tmp_path: Path, tls_broker: LocalMosquitto, pki: dict[str, Issued],
    subscribe: Callable[..., Subscriber], ca: str, client: str, host: str, said: str,
) -> None:
    subscriber = subscribe(tls_broker)
    gateway = GatewayProcess(tls_config(tmp_path / "gw.toml", tls_broker, ca=pki[ca],
                                        client=pki[client], host=host))
    try:
        wait_until(lambda: "cannot reach the broker" in gateway.log(), 30,
                   "the gateway to report the failed connection")
        wait_until(lambda: outbox_state(gateway.outbox_path)["pending"] >= 3, 30,
                   "summaries to wait in the outbox")
    finally:
        assert gateway.stop() == 0
    assert said in gateway.log()
    assert subscriber.messages == []  # nothing went anywhere, in plaintext or otherwise
    if client == "expired":  # said at start too, for the technician
        assert "uplink.tls.cert_file: " in gateway.log() and "expired on " in gateway.log()


def test_a_broker_certificate_for_another_host_is_refused(
    tmp_path: Path, pki: dict[str, Issued], subscribe: Callable[..., Subscriber],
) -> None:
    tls = BrokerTls(pki["ca"].cert_file, pki["misnamed_server"].cert_file,
                    pki["misnamed_server"].key_file)
    with LocalMosquitto(tls=tls) as broker:
        subscriber = subscribe(broker)
        gateway = GatewayProcess(tls_config(tmp_path / "gw.toml", broker, ca=pki["ca"],
                                            client=pki["client"], host="127.0.0.1"))
        try:
            wait_until(lambda: "cannot reach the broker" in gateway.log(), 30,
                       "the gateway to report the failed connection")
        finally:
            assert gateway.stop() == 0
    assert "the broker's certificate was refused: IP address mismatch" in gateway.log()
    assert subscriber.messages == []


def test_no_client_certificate_or_plaintext_to_a_network_is_a_config_error(
    tmp_path: Path, tls_broker: LocalMosquitto, pki: dict[str, Issued],
) -> None:
    config = tls_config(tmp_path / "gw.toml", tls_broker, ca=pki["ca"], client=None)
    gateway = GatewayProcess(config)
    assert gateway.process.wait(30) == 2
    assert "uplink.tls.cert_file: required: the broker authenticates this gateway by its " \
           "certificate" in gateway.log()
    remote = tmp_path / "remote.toml"
    remote.write_text('[gateway]\nid = "gw"\n[uplink]\nhost = "192.0.2.10"\nplaintext = true\n')
    refused = GatewayProcess(remote)
    assert refused.process.wait(30) == 2
    assert "uplink.plaintext: only to a loopback address, not '192.0.2.10'" in refused.log()
    assert "Traceback" not in gateway.log() + refused.log()
