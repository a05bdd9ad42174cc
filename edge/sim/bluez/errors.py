"""The D-Bus errors bluetoothd answers with, as the emulator reproduces them.

Connection failures come from BlueZ's src/error.c: since BlueZ 5.63 an LE connection error is
org.bluez.Error.Failed whose message names the kernel's errno ("le-connection-abort-by-local"
for ECONNABORTED); older versions sent the errno's text ("Software caused connection abort").
"""

from dataclasses import dataclass

from dbus_fast import DBusError


@dataclass(frozen=True)
class BluezError:
    name: str
    message: str
    # The link came up and was torn down at once: BlueZ sets Connected true and then false
    # around the error reply, and bleak waits for that before it retries on its own.
    link_came_up: bool = False

    def to_dbus(self) -> DBusError:
        return DBusError(self.name, self.message)


IN_PROGRESS = BluezError("org.bluez.Error.InProgress", "In Progress")
# A client may hold one discovery session per adapter; a second StartDiscovery is "busy".
BUSY = BluezError("org.bluez.Error.InProgress", "Operation already in progress")
NOT_READY = BluezError("org.bluez.Error.NotReady", "Resource Not Ready")
NOT_CONNECTED = BluezError("org.bluez.Error.NotConnected", "Not Connected")
NOT_SUPPORTED = BluezError("org.bluez.Error.NotSupported", "Operation is not supported")
DOES_NOT_EXIST = BluezError("org.bluez.Error.DoesNotExist", "Does Not Exist")
NO_DISCOVERY_STARTED = BluezError("org.bluez.Error.Failed", "No discovery started")
READ_NOT_PERMITTED = BluezError("org.bluez.Error.NotPermitted", "Read not permitted")
WRITE_NOT_PERMITTED = BluezError("org.bluez.Error.NotPermitted", "Write not permitted")
LE_ABORT_BY_LOCAL = BluezError("org.bluez.Error.Failed", "le-connection-abort-by-local",
                               link_came_up=True)
SOFTWARE_ABORT = BluezError("org.bluez.Error.Failed", "Software caused connection abort")
# A Disconnect, a power-off or a vanishing device cancels a Connect still pending.
CONNECT_CANCELLED = BluezError("org.bluez.Error.Failed", "br-connection-canceled")
# A controller with no free connection slot answers LE Create Connection with HCI status 0x09
# (Connection Limit Exceeded), which the kernel turns into EMLINK. Controllers differ (0x07
# Memory Capacity Exceeded and 0x0D Limited Resources are seen too): pass another error to
# `BluezEmulator.add_adapter` to model one of those.
OUT_OF_SLOTS = BluezError("org.bluez.Error.Failed", "le-connection-concurrent-connection-limit")


def att_error(code: int) -> BluezError:
    return BluezError("org.bluez.Error.Failed", f"Operation failed with ATT error: 0x{code:02x}")
