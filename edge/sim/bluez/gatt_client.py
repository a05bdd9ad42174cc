"""The GATT objects bluetoothd exports under a connected device (GattService1,
GattCharacteristic1, GattDescriptor1) and the calls on them.

Paths carry attribute handles as four hex digits (.../service000a/char000b/desc000d): bleak
reads the handles from the last four characters of a path and finds a characteristic's device by
cutting the last 21.
"""

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import TypeVar

from dbus_fast import Message, Variant

from edge.sim.bluez import errors
from edge.sim.bluez.errors import BluezError
from edge.sim.bluez.objects import BusObject, MethodHandler, ObjectTree
from edge.sim.peripheral import AttError, Characteristic, Descriptor, Service, full_uuid

GATT_SERVICE = "org.bluez.GattService1"
GATT_CHARACTERISTIC = "org.bluez.GattCharacteristic1"
GATT_DESCRIPTOR = "org.bluez.GattDescriptor1"
CCCD_UUID = full_uuid("2902")
_SUBSCRIBABLE = frozenset({"notify", "indicate"})
_WRITABLE = frozenset({"write", "write-without-response", "reliable-write"})
NO_NOTIFY_SESSION = BluezError("org.bluez.Error.Failed", "No notify session started")

_Result = TypeVar("_Result")


@dataclass
class ExportedCharacteristic:
    spec: Characteristic
    path: str
    # Unique bus names of the clients that called StartNotify, as bluetoothd tracks them.
    subscribers: set[str] = field(default_factory=set)

    @property
    def uuid(self) -> str:
        return full_uuid(self.spec.uuid)


class GattClientObjects:
    """The GATT objects of one connection, from service discovery to disconnection."""

    def __init__(self, tree: ObjectTree, device_path: str, services: Sequence[Service],
                 mtu: int, hidden_services: Collection[str]) -> None:
        self._tree = tree
        self._device_path = device_path
        self._services = services
        self._mtu = mtu
        self._hidden = {full_uuid(uuid) for uuid in hidden_services}
        self._paths: list[str] = []
        self.characteristics: list[ExportedCharacteristic] = []

    def export(self) -> None:
        # Hidden services keep their handles, as on a real device: only their export is skipped.
        handles = count(1)
        for service in self._services:
            service_path = f"{self._device_path}/service{next(handles):04x}"
            exported = full_uuid(service.uuid) not in self._hidden
            if exported:
                self._add(BusObject(service_path, {GATT_SERVICE: {
                    "UUID": Variant("s", full_uuid(service.uuid)),
                    "Device": Variant("o", self._device_path),
                    "Primary": Variant("b", service.primary),
                    "Includes": Variant("ao", []),
                }}))
            for characteristic in service.characteristics:
                path = f"{service_path}/char{next(handles):04x}"
                next(handles)  # the value handle follows the declaration
                if exported:
                    self._export_characteristic(characteristic, path, service_path, handles)

    def remove(self) -> None:
        for path in reversed(self._paths):
            self._tree.remove(path)
        self._paths.clear()
        self.characteristics.clear()

    def find(self, uuid: str) -> ExportedCharacteristic | None:
        wanted = full_uuid(uuid)
        return next((c for c in self.characteristics if c.uuid == wanted), None)

    def notify(self, uuid: str, payload: bytes) -> bool:
        """Relay a notification; False when the characteristic has no subscriber."""
        exported = self.find(uuid)
        if exported is None or not exported.subscribers:
            return False
        self._tree.change(exported.path, GATT_CHARACTERISTIC, {"Value": Variant("ay", payload)})
        return True

    def forget_subscriber(self, bus_name: str) -> None:
        for exported in self.characteristics:
            if bus_name in exported.subscribers:
                self._unsubscribe(exported, bus_name)

    def _add(self, obj: BusObject) -> None:
        self._tree.add(obj)
        self._paths.append(obj.path)

    def _export_characteristic(self, spec: Characteristic, path: str, service_path: str,
                               handles: Iterator[int]) -> None:
        exported = ExportedCharacteristic(spec, path)
        properties = {
            "UUID": Variant("s", exported.uuid),
            "Service": Variant("o", service_path),
            "Value": Variant("ay", b""),
            "Flags": Variant("as", list(spec.flags)),
            "MTU": Variant("q", self._mtu),
        }
        if _SUBSCRIBABLE & set(spec.flags):
            properties["Notifying"] = Variant("b", False)
        self._add(BusObject(path, {GATT_CHARACTERISTIC: properties}, methods={
            (GATT_CHARACTERISTIC, "ReadValue"): lambda m: self._read(exported, m),
            (GATT_CHARACTERISTIC, "WriteValue"): lambda m: self._write(exported, m),
            (GATT_CHARACTERISTIC, "StartNotify"): lambda m: self._start_notify(exported, m),
            (GATT_CHARACTERISTIC, "StopNotify"): lambda m: self._stop_notify(exported, m),
        }))
        self.characteristics.append(exported)
        for descriptor in self._descriptors_of(spec):
            self._export_descriptor(exported, descriptor, f"{path}/desc{next(handles):04x}")

    @staticmethod
    def _descriptors_of(spec: Characteristic) -> list[Descriptor]:
        """The characteristic's descriptors, with the CCCD a notifying one must have."""
        descriptors = list(spec.descriptors)
        has_cccd = any(full_uuid(d.uuid) == CCCD_UUID for d in descriptors)
        if _SUBSCRIBABLE & set(spec.flags) and not has_cccd:
            descriptors.insert(0, Descriptor(CCCD_UUID, flags=("read", "write")))
        return descriptors

    def _export_descriptor(self, owner: ExportedCharacteristic, spec: Descriptor,
                           path: str) -> None:
        methods: dict[tuple[str, str], MethodHandler] = {
            (GATT_DESCRIPTOR, "ReadValue"): lambda m: self._read_descriptor(owner, spec, m),
            (GATT_DESCRIPTOR, "WriteValue"): lambda m: self._write_descriptor(spec, m),
        }
        self._add(BusObject(path, {GATT_DESCRIPTOR: {
            "UUID": Variant("s", full_uuid(spec.uuid)),
            "Characteristic": Variant("o", owner.path),
            "Value": Variant("ay", b""),
            "Flags": Variant("as", list(spec.flags)),
        }}, methods=methods))

    def _read(self, exported: ExportedCharacteristic, message: Message) -> Message:
        spec = exported.spec
        if "read" not in spec.flags:
            raise errors.READ_NOT_PERMITTED.to_dbus()
        value = _call_peripheral(spec.on_read) if spec.on_read else spec.value
        self._cache(exported.path, GATT_CHARACTERISTIC, value)
        return Message.new_method_return(message, "ay", [value])

    def _write(self, exported: ExportedCharacteristic, message: Message) -> Message:
        spec = exported.spec
        if not _WRITABLE & set(spec.flags):
            raise errors.WRITE_NOT_PERMITTED.to_dbus()
        value = bytes(message.body[0])
        on_write = spec.on_write
        if on_write is None:
            spec.value = value
        else:
            # A peripheral answers the write before it sends the notifications it triggers.
            self._tree.hold_signals_until_reply()
            _call_peripheral(lambda: on_write(value))
        return Message.new_method_return(message)

    def _start_notify(self, exported: ExportedCharacteristic, message: Message) -> Message:
        if not _SUBSCRIBABLE & set(exported.spec.flags):
            raise errors.NOT_SUPPORTED.to_dbus()
        if not exported.subscribers:
            self._tree.change(exported.path, GATT_CHARACTERISTIC, {"Notifying": Variant("b", True)})
        exported.subscribers.add(message.sender or "")
        return Message.new_method_return(message)

    def _stop_notify(self, exported: ExportedCharacteristic, message: Message) -> Message:
        if message.sender not in exported.subscribers:
            raise NO_NOTIFY_SESSION.to_dbus()
        self._unsubscribe(exported, message.sender or "")
        return Message.new_method_return(message)

    def _unsubscribe(self, exported: ExportedCharacteristic, bus_name: str) -> None:
        exported.subscribers.discard(bus_name)
        if not exported.subscribers:
            self._tree.change(exported.path, GATT_CHARACTERISTIC,
                              {"Notifying": Variant("b", False)})

    def _read_descriptor(self, owner: ExportedCharacteristic, spec: Descriptor,
                         message: Message) -> Message:
        if full_uuid(spec.uuid) == CCCD_UUID:
            value = _cccd_value(owner)
        elif "read" in spec.flags:
            value = spec.value
        else:
            raise errors.READ_NOT_PERMITTED.to_dbus()
        return Message.new_method_return(message, "ay", [value])

    @staticmethod
    def _write_descriptor(spec: Descriptor, message: Message) -> Message:
        # bluetoothd refuses CCCD writes: subscriptions go through StartNotify and StopNotify.
        if full_uuid(spec.uuid) == CCCD_UUID or "write" not in spec.flags:
            raise errors.WRITE_NOT_PERMITTED.to_dbus()
        spec.value = bytes(message.body[0])
        return Message.new_method_return(message)

    def _cache(self, path: str, interface: str, value: bytes) -> None:
        """bluetoothd keeps what it read in Value and announces the change, which bleak passes
        to a notification callback on that characteristic as well."""
        if self._tree.properties(path, interface)["Value"].value != value:
            self._tree.change(path, interface, {"Value": Variant("ay", value)})


def _cccd_value(owner: ExportedCharacteristic) -> bytes:
    if not owner.subscribers:
        return b"\x00\x00"
    return b"\x01\x00" if "notify" in owner.spec.flags else b"\x02\x00"


def _call_peripheral(handler: Callable[[], _Result]) -> _Result:
    try:
        return handler()
    except AttError as refusal:
        raise errors.att_error(refusal.code).to_dbus() from refusal
