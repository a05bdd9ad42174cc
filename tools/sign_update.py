"""The care team's side of remote updates: make a signing key, sign an update for gateways.

    python -m tools.sign_update new-key care-team.key care-team.pub
    python -m tools.sign_update sign --key care-team.key --kind config --version 3 \\
        --days 7 body.json > update.json
    mosquitto_pub -t edge/v1/GATEWAY/control/update -f update.json -q 1 ...

The public key goes to each gateway (`control.public_key_file`); the private key never does. A
model update's body is made from a model package folder with `package FOLDER > body.json`.
"""

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.control.signing import KINDS, sign


def new_key(private: Path, public: Path) -> None:
    key = Ed25519PrivateKey.generate()
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def package_body(folder: Path) -> bytes:
    files = {path.name: base64.b64encode(path.read_bytes()).decode()
             for path in sorted(folder.iterdir())
             if path.is_file() and path.suffix in (".json", ".onnx", ".tflite")}
    return json.dumps({"files": files}).encode()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    keys = commands.add_parser("new-key", help="make an Ed25519 key pair")
    keys.add_argument("private", type=Path)
    keys.add_argument("public", type=Path)
    signing = commands.add_parser("sign", help="sign an update body")
    signing.add_argument("body", type=Path)
    signing.add_argument("--key", type=Path, required=True)
    signing.add_argument("--kind", choices=KINDS, required=True)
    signing.add_argument("--version", type=int, required=True)
    signing.add_argument("--days", type=float, default=7.0, help="valid for (default 7)")
    packaging = commands.add_parser("package", help="a model package folder as a body")
    packaging.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "new-key":
        new_key(args.private, args.public)
    elif args.command == "package":
        sys.stdout.write(package_body(args.folder).decode() + "\n")
    else:
        key = serialization.load_pem_private_key(args.key.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            parser.error(f"{args.key}: not an Ed25519 private key")
        envelope = sign(args.kind, args.version, time.time() + args.days * 86400,
                        args.body.read_bytes(), key)
        sys.stdout.write(envelope.decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
