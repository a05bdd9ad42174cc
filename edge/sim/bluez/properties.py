"""Adapter1 and Device1 properties as bluetoothd builds them, and the advertisements it lets
through a client's discovery filter."""

from collections.abc import Sequence
from dataclasses import dataclass

from dbus_fast import Variant

from edge.sim.bluez.objects import Properties
from edge.sim.peripheral import Peripheral, full_uuid


@dataclass(frozen=True)
class DiscoveryFilter:
    uuids: frozenset[str] = frozenset()
    rssi: int | None = None

    @staticmethod
    def from_dbus(options: dict[str, Variant]) -> "DiscoveryFilter":
        uuids = options["UUIDs"].value if "UUIDs" in options else []
        rssi = options["RSSI"].value if "RSSI" in options else None
        return DiscoveryFilter(frozenset(full_uuid(uuid) for uuid in uuids), rssi)

    def admits(self, peripheral: Peripheral) -> bool:
        advertised = {full_uuid(uuid) for uuid in peripheral.service_uuids}
        return ((not self.uuids or bool(self.uuids & advertised))
                and (self.rssi is None or peripheral.rssi >= self.rssi))


def adapter_properties(address: str, powered: bool) -> Properties:
    return {
        "Address": Variant("s", address),
        "AddressType": Variant("s", "public"),
        "Name": Variant("s", "edge-emulated"),
        "Alias": Variant("s", "edge-emulated"),
        "Class": Variant("u", 0),
        "Powered": Variant("b", powered),
        "Discoverable": Variant("b", False),
        "DiscoverableTimeout": Variant("u", 180),
        "Pairable": Variant("b", False),
        "PairableTimeout": Variant("u", 0),
        "Discovering": Variant("b", False),
        "UUIDs": Variant("as", []),
        "Modalias": Variant("s", "usb:v1D6Bp0246d0548"),
        "Roles": Variant("as", ["central", "peripheral"]),
    }


def device_properties(adapter_path: str, spec: Peripheral) -> Properties:
    return {
        "Address": Variant("s", spec.address),
        "AddressType": Variant("s", spec.address_type),
        # Without a name, bluetoothd aliases a device to its address with dashes.
        "Alias": Variant("s", spec.name or spec.address.replace(":", "-")),
        "Adapter": Variant("o", adapter_path),
        "Paired": Variant("b", False),
        "Bonded": Variant("b", False),
        "Trusted": Variant("b", False),
        "Blocked": Variant("b", False),
        "LegacyPairing": Variant("b", False),
        "Connected": Variant("b", False),
        "ServicesResolved": Variant("b", False),
        "UUIDs": Variant("as", []),
    }


def advertised_properties(spec: Peripheral) -> Properties:
    """Device1 properties as bluetoothd sets them from an advertisement; absent when empty."""
    heard: Properties = {
        "RSSI": Variant("n", spec.rssi),
        "UUIDs": Variant("as", [full_uuid(uuid) for uuid in spec.service_uuids]),
    }
    if spec.name:
        heard["Name"] = Variant("s", spec.name)
        heard["Alias"] = Variant("s", spec.name)
    if spec.tx_power is not None:
        heard["TxPower"] = Variant("n", spec.tx_power)
    if spec.manufacturer_data:
        heard["ManufacturerData"] = Variant("a{qv}", {
            company: Variant("ay", data) for company, data in spec.manufacturer_data.items()})
    if spec.service_data:
        heard["ServiceData"] = Variant("a{sv}", {
            full_uuid(uuid): Variant("ay", data) for uuid, data in spec.service_data.items()})
    return heard


def merge_advertisement(current: Properties, heard: Properties) -> Properties:
    """bluetoothd adds to what it knows: UUIDs accumulate, and manufacturer and service data
    are replaced per company and per UUID, never removed."""
    merged = dict(heard)
    merged["UUIDs"] = Variant("as", union(current["UUIDs"].value, heard["UUIDs"].value))
    for name, signature in (("ManufacturerData", "a{qv}"), ("ServiceData", "a{sv}")):
        if name in current:
            fresh = heard[name].value if name in heard else {}
            merged[name] = Variant(signature, {**current[name].value, **fresh})
    return merged


def union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
