"""The new config: what was asked for, merged into the config that is there. Pure: tables in,
a table out, so that running `edge provision` again with the same answers changes nothing."""

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.provision.manifest import DeviceRequest, ProvisionRequest


@dataclass(frozen=True, slots=True)
class Sighting:
    """A device seen advertising, with the profile it matches."""

    address: str
    profile: str
    name: str | None
    rssi: int | None


@dataclass(frozen=True, slots=True)
class Binding:
    address: str
    profile: str
    patient: str
    id: str = ""  # empty: keep the bound device's id, or make one


@dataclass(frozen=True, slots=True)
class PlacedFiles:
    """Where the installed files are, relative to the config's folder; empty: unchanged."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    update_key_file: str = ""


def bindings_for(requests: Sequence[DeviceRequest], patient: str,
                 bound: Sequence[dict[str, Any]], seen: Sequence[Sighting]) -> (
        tuple[list[Binding], list[str]]):
    """A binding per request, and a problem per request that cannot be met. A request without
    an address is met by a device of its profile already bound to the patient, else by the
    nearest unbound one seen."""
    bindings, problems = [], []
    explicit = {r.address.upper() for r in requests if r.address}
    # Bound devices that can meet requests without an address, per (profile, patient).
    spare = [d for d in bound if d.get("address", "").upper() not in explicit]
    taken = {d.get("address", "").upper() for d in bound} | explicit
    nearest_first = sorted(seen, key=lambda s: -(s.rssi if s.rssi is not None else -999))
    for index, request in enumerate(requests):
        owner = request.patient or patient
        if not owner:
            problems.append(f"devices[{index}] ({request.profile}): no patient pseudonym given")
            continue
        if request.address:
            bindings.append(Binding(request.address.upper(), request.profile, owner, request.id))
            continue
        already = next((d for d in spare if d.get("profile") == request.profile
                        and d.get("patient") == owner), None)
        if already is not None:
            spare.remove(already)
            bindings.append(Binding(already["address"].upper(), request.profile, owner,
                                    request.id))
            continue
        found = next((s for s in nearest_first if s.profile == request.profile
                      and s.address.upper() not in taken), None)
        if found is None:
            problems.append(f"devices[{index}]: no unbound {request.profile} device is "
                            "advertising nearby")
            continue
        taken.add(found.address.upper())
        bindings.append(Binding(found.address.upper(), request.profile, owner, request.id))
    return bindings, problems


def plaintext_wanted(request: ProvisionRequest, existing: dict[str, Any]) -> bool:
    """Asked for; else not when certificates are given; else as configured."""
    if request.broker.plaintext is not None:
        return request.broker.plaintext
    if request.broker.cert_file:
        return False
    return bool(existing.get("uplink", {}).get("plaintext", False))


def merged_config(existing: dict[str, Any], request: ProvisionRequest,
                  bindings: Sequence[Binding], placed: PlacedFiles) -> dict[str, Any]:
    """`existing` (a parsed config, or {}) with what was asked for: every other key is kept."""
    table = copy.deepcopy(existing)
    gateway = table.setdefault("gateway", {})
    _set(gateway, "id", request.gateway_id)
    _set(gateway, "data_dir", request.data_dir)
    uplink = table.setdefault("uplink", {})
    _set(uplink, "host", request.broker.host)
    _set(uplink, "port", request.broker.port)
    uplink["plaintext"] = plaintext_wanted(request, existing)
    if not uplink["plaintext"]:
        del uplink["plaintext"]  # the default
    tls = uplink.setdefault("tls", {})
    for key in ("ca_file", "cert_file", "key_file"):
        _set(tls, key, getattr(placed, key))
    if not tls:
        del uplink["tls"]
    if placed.update_key_file:
        table.setdefault("control", {})["public_key_file"] = placed.update_key_file
    devices = table.setdefault("devices", [])
    for binding in bindings:
        _bind(devices, binding)
    return table


def _set(table: dict[str, Any], key: str, value: Any) -> None:
    if value:
        table[key] = value


def _bind(devices: list[dict[str, Any]], binding: Binding) -> None:
    """Update the device bound to the address (or, a replaced device, to the id), or add one."""
    address = binding.address.upper()
    device = next((d for d in devices if d.get("address", "").upper() == address), None)
    if device is None and binding.id:
        device = next((d for d in devices if d.get("id") == binding.id), None)
    if device is None:
        taken = {d.get("id") for d in devices}
        device = {"id": binding.id or new_device_id(binding.profile, taken)}
        devices.append(device)
    elif binding.id:
        device["id"] = binding.id
    device.update(patient=binding.patient, link="ble", address=address,
                  profile=binding.profile)


def new_device_id(profile: str, taken: set[Any]) -> str:
    """`polar_h10` → `polar-h10-01`, the first number not taken."""
    stem = profile.removeprefix("generic_").replace("_", "-")
    return next(f"{stem}-{n:02d}" for n in range(1, 1000) if f"{stem}-{n:02d}" not in taken)
