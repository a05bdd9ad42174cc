"""An emulated bluetoothd: BlueZ's D-Bus API (org.bluez) served on a private dbus-daemon, so that
bleak's real BlueZ backend talks to virtual wearables. See docs/BLE_TESTING.md."""

from edge.sim.bluez import errors
from edge.sim.bluez.bus import SYSTEM_BUS_VARIABLE, PrivateSystemBus
from edge.sim.bluez.emulator import BluezEmulator, Counters
from edge.sim.bluez.errors import BluezError
from edge.sim.peripheral import (
    AttError,
    Characteristic,
    Descriptor,
    Peripheral,
    Service,
    full_uuid,
)

__all__ = [
    "SYSTEM_BUS_VARIABLE",
    "AttError",
    "BluezEmulator",
    "BluezError",
    "Characteristic",
    "Counters",
    "Descriptor",
    "Peripheral",
    "PrivateSystemBus",
    "Service",
    "errors",
    "full_uuid",
]
