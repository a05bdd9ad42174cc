"""`edge scan`: which devices are advertising nearby, and the profile each matches."""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bleak import BleakScanner

from edge.gatt.uuids import normalize_uuid
from edge.profiles import Advertisement, DeviceProfile, best_match


@dataclass(frozen=True, slots=True)
class ScanResult:
    advertisement: Advertisement
    profile: DeviceProfile | None


async def scan(seconds: float, adapter: str, profiles: Iterable[DeviceProfile]) -> (
        list[ScanResult]):
    known = list(profiles)
    found = await BleakScanner.discover(timeout=seconds, return_adv=True,
                                        bluez={"adapter": adapter})
    results = []
    for device, data in found.values():
        advertisement = Advertisement(
            address=device.address,
            name=data.local_name or device.name,
            service_uuids=tuple(normalize_uuid(uuid) for uuid in data.service_uuids),
            manufacturer_ids=tuple(data.manufacturer_data),
            rssi=data.rssi,
        )
        results.append(ScanResult(advertisement, best_match(known, advertisement)))
    return sorted(results, key=lambda r: -(r.advertisement.rssi or -999))


def run_scan(seconds: float, adapter: str, profiles: Iterable[DeviceProfile]) -> list[ScanResult]:
    return asyncio.run(scan(seconds, adapter, profiles))
