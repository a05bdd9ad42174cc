"""The uplink's certificates, checked before anything is installed: each readable, in date
(a warning when it expires within 30 days), the CA a CA, the client certificate for client
authentication, its chain signed link by link, and the key its own."""

import datetime as dt
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from edge.uplink.tls import validity_problems

WARNING_DAYS = 30


@dataclass(slots=True)
class CertificateCheck:
    problems: list[str] = field(default_factory=list)  # any of these: nothing is installed
    warnings: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # what a technician may want to see


def check_certificates(ca_file: Path | None, cert_file: Path, key_file: Path,
                       now: dt.datetime) -> CertificateCheck:
    """`ca_file` None: the broker is verified by the system's CAs."""
    check = CertificateCheck()
    authorities = _certificates(ca_file, check) if ca_file else []
    chain = _certificates(cert_file, check)
    for certificate in authorities:
        _check_dates(ca_file or Path(), certificate, now, check)
        if not _is_ca(certificate):
            check.problems.append(f"{ca_file}: {_subject(certificate)} is not a CA certificate")
    if chain:
        _check_client(cert_file, chain, authorities, now, check)
        _check_key(key_file, chain[0], check)
    return check


def _certificates(path: Path, check: CertificateCheck) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as error:
        check.problems.append(f"{path}: not readable PEM certificates: "
                              f"{getattr(error, 'strerror', None) or error}")
        return []


def _check_dates(path: Path, certificate: x509.Certificate, now: dt.datetime,
                 check: CertificateCheck) -> None:
    problems = validity_problems(certificate, now)
    check.problems += [f"{path}: {_subject(certificate)}: {problem}" for problem in problems]
    if not problems and validity_problems(certificate, now + dt.timedelta(days=WARNING_DAYS)):
        check.warnings.append(
            f"{path}: {_subject(certificate)} expires on "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}: ask the care team for a renewal")


def _check_client(path: Path, chain: list[x509.Certificate],
                  authorities: list[x509.Certificate], now: dt.datetime,
                  check: CertificateCheck) -> None:
    leaf = chain[0]
    for certificate in chain:
        _check_dates(path, certificate, now, check)
    if not _for_client_authentication(leaf):
        check.problems.append(f"{path}: {_subject(leaf)} is not for client authentication "
                              "(its extended key usage lacks clientAuth)")
    for child, parent in itertools.pairwise(chain):
        if not _issued_by(child, parent):
            check.problems.append(f"{path}: {_subject(child)} is not signed by the next "
                                  f"certificate in the file, {_subject(parent)}")
    top = chain[-1]
    issuer = next((ca for ca in authorities if ca.subject == top.issuer), None)
    if issuer is None:
        check.warnings.append(f"{path}: issued by {top.issuer.rfc4514_string()}, which is not "
                              "in the CA file: the broker must trust that CA")
    elif not _issued_by(top, issuer):
        check.problems.append(f"{path}: {_subject(top)} names {_subject(issuer)} as its issuer "
                              "but is not signed by it")
    check.facts.append(f"{_subject(leaf)}, valid until {leaf.not_valid_after_utc:%Y-%m-%d}")


def _check_key(path: Path, leaf: x509.Certificate, check: CertificateCheck) -> None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except TypeError:
        check.problems.append(f"{path}: the key is protected by a password; the gateway "
                              "starts unattended, so it needs the key without one")
        return
    except (OSError, ValueError) as error:
        check.problems.append(f"{path}: not a readable PEM private key "
                              f"({getattr(error, 'strerror', None) or type(error).__name__})")
        return
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        check.problems.append(f"{path}: this key does not belong to {_subject(leaf)}")


def _spki(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _for_client_authentication(certificate: x509.Certificate) -> bool:
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True  # no restriction
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _subject(certificate: x509.Certificate) -> str:
    return certificate.subject.rfc4514_string() or "(no subject)"
