"""Payloads at rest are sealed with AES-256-GCM. The key is a separate file that only the
gateway's user can read, made on first start; each payload is bound to its stream and number,
so a row cannot be swapped for another unnoticed."""

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12


class KeyFileError(Exception):
    """The outbox key cannot be used: named with its file and the reason."""


class SealError(Exception):
    """A sealed payload that does not open with this key (tampered, or another key's)."""


def load_or_create_key(path: Path) -> bytes:
    """The key in `path`, made (mode 0600) when there is none. Refuses a key that others can
    read or that is not 32 bytes long."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    except OSError as error:
        raise KeyFileError(f"outbox key {path}: cannot create: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(AESGCM.generate_key(bit_length=8 * KEY_BYTES))
        file.flush()
        os.fsync(file.fileno())
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"outbox key {path}: cannot read: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"outbox key {path}: others may read it (mode "
                           f"{stat.S_IMODE(mode):o}); make it the gateway user's alone: "
                           f"chmod 600 {path}")
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"outbox key {path}: {len(key)} bytes, expected {KEY_BYTES}")
    return key


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def seal_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """`seal` for each (plaintext, context as UTF-8): the same random 96-bit nonces, read
        from the system's generator in one call for all of them."""
        nonces = os.urandom(_NONCE_BYTES * len(items))
        encrypt = self._aead.encrypt
        sealed = []
        for start, (plaintext, context) in zip(range(0, len(nonces), _NONCE_BYTES), items,
                                                strict=True):
            nonce = nonces[start:start + _NONCE_BYTES]
            sealed.append(nonce + encrypt(nonce, plaintext, context))
        return sealed

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:],
                                      context.encode())
        except (InvalidTag, ValueError):
            raise SealError(f"sealed payload of {context} does not open with this key") \
                from None
