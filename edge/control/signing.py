"""Signed updates. An update is a JSON envelope:

    {"kind": "config" | "model", "version": 7, "expires_at": "2026-12-01T00:00:00.000Z",
     "sha256": "<hex of the body>", "body": "<base64>", "signature": "<base64>"}

The Ed25519 signature covers the canonical JSON (sorted keys, no spaces) of kind, version,
expires_at and sha256, and through the digest the body. A gateway takes an update only when the
signature verifies with the public key provisioned on it, it has not expired, its version is
newer than the last one of its kind it took (no downgrade, no replay), and the body matches its
digest; `verify` checks them in that order and names the first that fails.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.messages.payloads import utc_iso

UpdateKind = Literal["config", "model"]
KINDS: tuple[UpdateKind, ...] = ("config", "model")


class UpdateRefused(Exception):
    """An update that must not be applied; the message says why."""


@dataclass(frozen=True)
class SignedUpdate:
    kind: UpdateKind
    version: int
    expires_at: float
    body: bytes


def _signed_part(kind: str, version: int, expires_at: str, sha256: str) -> bytes:
    return json.dumps({"kind": kind, "version": version, "expires_at": expires_at,
                       "sha256": sha256}, sort_keys=True, separators=(",", ":")).encode()


def sign(kind: UpdateKind, version: int, expires_at: float, body: bytes,
         key: Ed25519PrivateKey) -> bytes:
    """The envelope of an update (for the care team's tools and the tests)."""
    expires = utc_iso(expires_at)
    digest = hashlib.sha256(body).hexdigest()
    signature = key.sign(_signed_part(kind, version, expires, digest))
    return json.dumps({"kind": kind, "version": version, "expires_at": expires,
                       "sha256": digest, "body": base64.b64encode(body).decode(),
                       "signature": base64.b64encode(signature).decode()}).encode()


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as error:
        raise UpdateRefused(f"public key {path}: not readable: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UpdateRefused(f"public key {path}: not an Ed25519 key")
    return key


def verify(envelope: bytes, key: Ed25519PublicKey, now: float,
           last_versions: dict[str, int]) -> SignedUpdate:
    fields = _fields(envelope)
    kind, version, expires, digest = (fields["kind"], fields["version"], fields["expires_at"],
                                      fields["sha256"])
    try:
        key.verify(_bytes(fields, "signature"), _signed_part(kind, version, expires, digest))
    except InvalidSignature:
        raise UpdateRefused("the signature does not verify with this gateway's key") from None
    try:
        expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UpdateRefused(f"expires_at: not an ISO 8601 time: {expires!r}") from None
    if expires_at <= now:
        raise UpdateRefused(f"expired at {expires}")
    last = last_versions.get(kind, 0)
    if version <= last:
        raise UpdateRefused(f"version {version} is not newer than {last}, the last {kind} "
                            "update taken (no downgrade or replay)")
    body = _bytes(fields, "body")
    if hashlib.sha256(body).hexdigest() != digest:
        raise UpdateRefused("the body does not match its sha256")
    return SignedUpdate(cast(UpdateKind, kind), version, expires_at, body)


def _fields(envelope: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(envelope)
    except (ValueError, UnicodeDecodeError):
        raise UpdateRefused("not a JSON update envelope") from None
    if not isinstance(fields, dict):
        raise UpdateRefused("not a JSON update envelope")
    if not fields.get("signature"):
        raise UpdateRefused("unsigned")
    types = {"kind": str, "version": int, "expires_at": str, "sha256": str, "body": str,
             "signature": str}
    for name, kind in types.items():
        if not isinstance(fields.get(name), kind) or isinstance(fields.get(name), bool):
            raise UpdateRefused(f"{name}: missing or not a {kind.__name__}")
    if fields["kind"] not in KINDS:
        raise UpdateRefused(f"kind: {fields['kind']!r} is neither config nor model")
    return fields


def _bytes(fields: dict[str, Any], name: str) -> bytes:
    try:
        return base64.b64decode(fields[name], validate=True)
    except (binascii.Error, ValueError):
        raise UpdateRefused(f"{name}: not base64") from None
