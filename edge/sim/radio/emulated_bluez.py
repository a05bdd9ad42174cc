"""Virtual wearables on the emulated BlueZ (`edge.sim.bluez`), where bleak finds them."""

from collections.abc import Iterable

from edge.sim.bluez import BluezEmulator
from edge.sim.wearables import Wearable


class EmulatedBluezRadio:
    def __init__(self, emulator: BluezEmulator, wearables: Iterable[Wearable]) -> None:
        self._emulator = emulator
        for wearable in wearables:
            emulator.add_peripheral(wearable.peripheral)

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        self._emulator.notify(address, characteristic_uuid, payload)

    def drop_link(self, address: str) -> None:
        self._emulator.disconnect_by_peripheral(address)

    def set_in_range(self, address: str, in_range: bool) -> None:
        if in_range:
            self._emulator.reappear(address)
        else:
            self._emulator.vanish(address)
