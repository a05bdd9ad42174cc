"""The uplink's TLS: a client context (TLS 1.2+, the broker verified by CA and host name, this
gateway's certificate presented), the checks a technician needs before connecting, and, when a
connection fails, a probe that says why, since paho only says that it failed."""

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509

from edge.config import Config, UplinkSettings
from edge.typed_toml import ConfigError

_PROBE_TIMEOUT_S = 5.0
# OpenSSL's names for the alerts a broker sends about our certificate, in plain words.
_ALERTS = {
    "CERTIFICATE_EXPIRED": "the broker refused this gateway's certificate: it has expired",
    "UNKNOWN_CA": "the broker refused this gateway's certificate: not issued by a CA the "
                  "broker trusts",
    "CERTIFICATE_REQUIRED": "the broker requires a client certificate",
    "BAD_CERTIFICATE": "the broker refused this gateway's certificate",
    "CERTIFICATE_REVOKED": "the broker refused this gateway's certificate: it was revoked",
}
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


def client_context(config: Config) -> ssl.SSLContext | None:
    """The TLS context of the uplink, or None for plaintext (only to a loopback address).
    Raises ConfigError naming the key and file of every problem."""
    settings = config.uplink
    if settings.plaintext:
        if not is_loopback(settings.host):
            raise ConfigError(config.source, [
                f"uplink.plaintext: only to a loopback address, not {settings.host!r}: health "
                "data never crosses a network unencrypted"])
        return None
    errors = _missing(settings)
    if errors:
        raise ConfigError(config.source, errors)
    tls = settings.tls
    try:
        context = ssl.create_default_context(
            cafile=str(config.base_dir / tls.ca_file) if tls.ca_file else None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(config.source, [f"uplink.tls.ca_file: {config.base_dir / tls.ca_file}"
                                          f": not usable CA certificates: {error}"]) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert, key = config.base_dir / tls.cert_file, config.base_dir / tls.key_file
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(config.source, [f"uplink.tls.cert_file/key_file: {cert}, {key}: "
                                          f"not a usable certificate and key: {error}"]) from None
    return context


def _missing(settings: UplinkSettings) -> list[str]:
    return [f"uplink.tls.{key}: required: the broker authenticates this gateway by its "
            "certificate (or set uplink.plaintext = true for a broker on this machine)"
            for key, value in (("cert_file", settings.tls.cert_file),
                               ("key_file", settings.tls.key_file)) if not value]


def certificate_warnings(config: Config, now: dt.datetime) -> list[str]:
    """Date problems of the configured certificates: the gateway still starts (and keeps what
    it measures in its outbox), but a technician must renew them."""
    tls = config.uplink.tls
    if config.uplink.plaintext:
        return []
    return [f"uplink.tls.{key}: {problem}"
            for key, name in (("ca_file", tls.ca_file), ("cert_file", tls.cert_file)) if name
            for problem in certificate_problems(config.base_dir / name, now)]


def certificate_problems(path: Path, now: dt.datetime) -> list[str]:
    """What is wrong with a PEM certificate's dates (not yet valid, expired)."""
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as error:
        return [f"{path}: not a readable PEM certificate: {error}"]
    return [f"{path}: {problem}" for problem in validity_problems(certificate, now)]


def validity_problems(certificate: x509.Certificate, now: dt.datetime) -> list[str]:
    if now < certificate.not_valid_before_utc:
        return [f"not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"]
    if now >= certificate.not_valid_after_utc:
        return [f"expired on {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"]
    return []


def probe(host: str, port: int, context: ssl.SSLContext) -> str | None:
    """Why a TLS connection to the broker fails, or None when it succeeds. Blocking: run it in
    a thread. A broker that refuses our certificate says so in an alert after the handshake,
    so the probe waits briefly for one."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            tls.settimeout(1.0)
            try:
                data = tls.recv(1)
            except TimeoutError:
                return None  # the broker waits for our CONNECT: TLS is fine
            return None if data else ("the broker closed the connection after the TLS "
                                      "handshake: it does not accept this gateway's certificate")
    except ssl.SSLCertVerificationError as error:
        return f"the broker's certificate was refused: {error.verify_message}"
    except ssl.SSLError as error:
        reason = str(error.reason or error)
        return next((words for alert, words in _ALERTS.items() if reason.endswith(alert)),
                    f"TLS failed: {reason}")
    except OSError as error:
        return f"cannot connect: {error.strerror or error}"
