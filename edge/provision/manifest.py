"""What a technician asks for, from a manifest file and flags: the same fields either way."""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import pseudonym
from edge.typed_toml import build, in_range, matches, read_toml, setting

_ADDRESS = r"(|([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})"


def _optional_pseudonym(value: Any) -> str | None:
    return pseudonym(value) if value else None


@dataclass(frozen=True)
class BrokerRequest:
    host: str = setting("", doc="The care team's MQTT broker (empty: keep the config's).")
    port: int = setting(0, doc="Its TCP port (0: keep the config's, or 8883).",
                        check=in_range(0, 65535))
    plaintext: bool | None = setting(
        None, doc="No TLS: only to a broker on this machine (unset: keep the config's).")
    ca_file: str = setting("", doc="CA certificates (PEM) the broker's certificate chains to.")
    cert_file: str = setting("", doc="This gateway's client certificate (PEM).")
    key_file: str = setting("", doc="The client certificate's private key (PEM).")


@dataclass(frozen=True)
class DeviceRequest:
    profile: str = setting(doc="Device profile id, e.g. polar_h10 (`edge scan` shows them).")
    address: str = setting(
        "", doc="Its Bluetooth address; empty: the nearest unbound device with this profile "
        "found by a scan.", check=matches(_ADDRESS, "an address like A0:9E:1A:12:34:56"))
    id: str = setting("", doc="Pseudonymous device id; empty: made from the profile, e.g. "
                      "polar-h10-01.", check=_optional_pseudonym)
    patient: str = setting("", doc="Patient pseudonym; empty: the manifest's `patient`.",
                           check=_optional_pseudonym)


@dataclass(frozen=True)
class ProvisionRequest:
    gateway_id: str = setting("", doc="Pseudonymous gateway id (empty: keep the config's).",
                              check=_optional_pseudonym)
    patient: str = setting("", doc="Pseudonym of the patient who wears the devices.",
                           check=_optional_pseudonym)
    data_dir: str = setting("", doc="Folder for the outbox and status (empty: keep the "
                            "config's, or /var/lib/edge).")
    update_key_file: str = setting(
        "", doc="The care team's Ed25519 public key (PEM) for signed remote updates.")
    broker: BrokerRequest = setting(BrokerRequest(), doc="The uplink.")
    devices: list[DeviceRequest] = setting([], doc="Wearables to bind to this gateway.")


def load_manifest(path: Path) -> ProvisionRequest:
    """A manifest file; its relative paths are made relative to its folder."""
    request = build(ProvisionRequest, read_toml(path), str(path))
    return anchored(request, path.resolve().parent)


def anchored(request: ProvisionRequest, folder: Path) -> ProvisionRequest:
    """`request` with its file paths made absolute against `folder`."""
    def absolute(name: str) -> str:
        return str(folder / name) if name else ""

    broker = request.broker
    return dataclasses.replace(
        request, update_key_file=absolute(request.update_key_file),
        broker=dataclasses.replace(broker, ca_file=absolute(broker.ca_file),
                                   cert_file=absolute(broker.cert_file),
                                   key_file=absolute(broker.key_file)))


def overlay(base: ProvisionRequest, flags: ProvisionRequest) -> ProvisionRequest:
    """`flags` over `base`: every field set in `flags` wins; devices are added."""
    def pick(new: Any, old: Any) -> Any:
        unset = new is None or new == "" or (type(new) is int and new == 0)
        return old if unset else new

    broker = BrokerRequest(**{f.name: pick(getattr(flags.broker, f.name),
                                           getattr(base.broker, f.name))
                              for f in dataclasses.fields(BrokerRequest)})
    return ProvisionRequest(
        gateway_id=pick(flags.gateway_id, base.gateway_id),
        patient=pick(flags.patient, base.patient),
        data_dir=pick(flags.data_dir, base.data_dir),
        update_key_file=pick(flags.update_key_file, base.update_key_file),
        broker=broker, devices=[*base.devices, *flags.devices])
