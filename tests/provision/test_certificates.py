"""The certificates `edge provision` installs, checked first: every way a file from the care
team can be wrong is named, and nothing is installed then."""

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.provision.certificates import check_certificates
from tests.uplink.pki import NOW, Authority


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("pki"), "care-team-ca")


def test_a_good_client_certificate_passes_with_its_expiry_shown(ca: Authority) -> None:
    issued = ca.issue("gw-good", client=True, valid_until=NOW + dt.timedelta(days=365))
    check = check_certificates(ca.issued.cert_file, issued.cert_file, issued.key_file, NOW)
    assert check.problems == [] and check.warnings == []
    assert check.facts == [f"CN=gw-good, valid until {NOW + dt.timedelta(days=365):%Y-%m-%d}"]


def test_one_expiring_within_30_days_passes_with_a_warning(ca: Authority) -> None:
    issued = ca.issue("gw-soon", client=True, valid_until=NOW + dt.timedelta(days=10))
    check = check_certificates(ca.issued.cert_file, issued.cert_file, issued.key_file, NOW)
    assert check.problems == []
    assert check.warnings == [f"{issued.cert_file}: CN=gw-soon expires on "
                              f"{NOW + dt.timedelta(days=10):%Y-%m-%d}: ask the care team for "
                              "a renewal"]


def test_every_kind_of_wrong_file_is_named(ca: Authority, tmp_path: Path) -> None:
    other = Authority(tmp_path, "someone-else-ca")
    expired = ca.issue("gw-old", client=True, valid_from=NOW - dt.timedelta(days=90),
                       valid_until=NOW - dt.timedelta(days=1))
    early = ca.issue("gw-early", client=True, valid_from=NOW + dt.timedelta(days=2))
    server = ca.issue("broker", hosts=("localhost",))
    stranger = other.issue("gw-stranger", client=True)
    good = ca.issue("gw-good", client=True)
    locked = tmp_path / "locked.key"
    locked.write_bytes(serialization.load_pem_private_key(good.key_file.read_bytes(), None)
                       .private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"secret")))
    not_pem = tmp_path / "garbage.pem"
    not_pem.write_text("not a certificate")
    cases = [
        (ca.issued.cert_file, expired.cert_file, expired.key_file, "CN=gw-old: expired on"),
        (ca.issued.cert_file, early.cert_file, early.key_file, "CN=gw-early: not valid before"),
        (ca.issued.cert_file, server.cert_file, server.key_file,
         "CN=broker is not for client authentication"),
        (ca.issued.cert_file, good.cert_file, stranger.key_file,
         "this key does not belong to CN=gw-good"),
        (ca.issued.cert_file, good.cert_file, locked, "protected by a password"),
        (good.cert_file, good.cert_file, good.key_file, "CN=gw-good is not a CA certificate"),
        (ca.issued.cert_file, not_pem, good.key_file, "not readable PEM certificates"),
        (ca.issued.cert_file, good.cert_file, tmp_path / "missing.key",
         "not a readable PEM private key"),
    ]
    for ca_file, cert_file, key_file, said in cases:
        check = check_certificates(ca_file, cert_file, key_file, NOW)
        assert any(said in problem for problem in check.problems), (said, check.problems)
    forged = _forged_by_name(other, ca, tmp_path)
    check = check_certificates(ca.issued.cert_file, forged, good.key_file, NOW)
    assert any("names CN=care-team-ca as its issuer but is not signed by it" in p
               for p in check.problems), check.problems
    check = check_certificates(ca.issued.cert_file, stranger.cert_file, stranger.key_file, NOW)
    assert check.problems == []
    assert check.warnings[-1:] == [f"{stranger.cert_file}: issued by CN=someone-else-ca, which is "
                              "not in the CA file: the broker must trust that CA"]


def _forged_by_name(signer: Authority, named: Authority, folder: Path) -> Path:
    """A client certificate that names `named` as its issuer but is signed by `signer`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw-forged")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, named.name)])
    signer_key = serialization.load_pem_private_key(signer.issued.key_file.read_bytes(), None)
    assert isinstance(signer_key, ec.EllipticCurvePrivateKey)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=1))
                   .not_valid_after(NOW + dt.timedelta(days=90))
                   .sign(signer_key, hashes.SHA256()))
    path = folder / "forged.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path
