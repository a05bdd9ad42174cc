"""A tree of D-Bus objects served by hand on a dbus-fast connection: org.freedesktop.DBus.Properties
and ObjectManager as bluetoothd implements them, and one handler per (interface, method).

dbus-fast's ServiceInterface would export objects too, but its methods are declared through
string annotations that strict mypy cannot check, it replies on its own schedule and it builds
InterfacesAdded with a property-getter round trip. Serving messages directly keeps every reply,
error and signal, and their order, under the emulator's control.

Signals go out as they happen, so those a method call causes precede its reply, as with
bluetoothd: bleak checks Connected as soon as the Connect reply arrives. A handler can hold them
until after its reply instead (`hold_signals_until_reply`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import DBusError, ErrorType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

PROPERTIES = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
# Left to dbus-fast, which answers them for any path.
_STANDARD_INTERFACES = {"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer"}

Properties = dict[str, Variant]
# Returns the reply, or None when the reply will be sent later with `ObjectTree.send`.
MethodHandler = Callable[[Message], Message | None]
PropertySetter = Callable[[Variant], None]


@dataclass
class BusObject:
    path: str
    interfaces: dict[str, Properties]
    methods: dict[tuple[str, str], MethodHandler] = field(default_factory=dict)
    setters: dict[tuple[str, str], PropertySetter] = field(default_factory=dict)


class ObjectTree:
    """Objects under one ObjectManager at "/", like bluetoothd's."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus
        self._objects: dict[str, BusObject] = {}
        # Signals a method handler holds back until its reply is sent.
        self._held_signals: list[Message] | None = None

    def __contains__(self, path: str) -> bool:
        return path in self._objects

    def add(self, obj: BusObject) -> None:
        self._objects[obj.path] = obj
        # Copies, since a held signal is marshalled only when it is sent.
        snapshot = {name: dict(properties) for name, properties in obj.interfaces.items()}
        self._emit("/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [obj.path, snapshot])

    def remove(self, path: str) -> None:
        obj = self._objects.pop(path, None)
        if obj is not None:
            self._emit("/", OBJECT_MANAGER, "InterfacesRemoved", "oas",
                       [path, list(obj.interfaces)])

    def add_interface(self, path: str, interface: str, properties: Properties) -> None:
        self._objects[path].interfaces[interface] = properties
        self._emit("/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}",
                   [path, {interface: dict(properties)}])

    def remove_interface(self, path: str, interface: str) -> None:
        if self._objects[path].interfaces.pop(interface, None) is not None:
            self._emit("/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, [interface]])

    def change(self, path: str, interface: str, changed: Properties,
               invalidated: Sequence[str] = ()) -> None:
        """Update properties and announce the change with PropertiesChanged."""
        properties = self._objects[path].interfaces[interface]
        properties.update(changed)
        gone = [name for name in invalidated if properties.pop(name, None) is not None]
        if changed or gone:
            self._emit(path, PROPERTIES, "PropertiesChanged", "sa{sv}as",
                       [interface, dict(changed), gone])

    def has_interface(self, path: str, interface: str) -> bool:
        obj = self._objects.get(path)
        return obj is not None and interface in obj.interfaces

    def properties(self, path: str, interface: str) -> Properties:
        """The current properties, to read, not to change."""
        return self._objects[path].interfaces[interface]

    def send(self, message: Message) -> None:
        """Send a message now, as long as the connection lasts."""
        if self._bus.connected:
            self._bus.send(message)

    def handle(self, message: Message) -> bool | None:
        """The connection's message handler: True once a method call on this tree is answered
        or its answer deferred, None for every other message."""
        if (message.message_type is not MessageType.METHOD_CALL
                or message.interface in _STANDARD_INTERFACES):
            return None
        try:
            reply = self._dispatch(message)
        except DBusError as error:
            reply = Message.new_error(message, error.type, error.text)
        finally:
            held, self._held_signals = self._held_signals, None
        if reply is not None:
            self.send(reply)
        for signal in held or ():
            self.send(signal)
        return True

    def hold_signals_until_reply(self) -> None:
        """From a method handler: send the signals it causes from now on after its reply."""
        self._held_signals = []

    def _dispatch(self, message: Message) -> Message | None:
        if message.interface == OBJECT_MANAGER and message.path == "/":
            return self._managed_objects(message)
        obj = self._objects.get(message.path or "")
        if obj is None:
            raise DBusError(ErrorType.UNKNOWN_OBJECT, f"Object {message.path} does not exist")
        if message.interface == PROPERTIES:
            return self._properties_call(obj, message)
        handler = obj.methods.get((message.interface or "", message.member or ""))
        if handler is None:
            raise DBusError(ErrorType.UNKNOWN_METHOD,
                            f"Method {message.member} of {message.interface} does not exist")
        return handler(message)

    def _managed_objects(self, message: Message) -> Message:
        body = {path: obj.interfaces for path, obj in self._objects.items()}
        return Message.new_method_return(message, "a{oa{sa{sv}}}", [body])

    def _properties_call(self, obj: BusObject, message: Message) -> Message:
        interface = message.body[0]
        properties = obj.interfaces.get(interface)
        if properties is None:
            raise DBusError(ErrorType.INVALID_ARGS, f"No such interface {interface}")
        if message.member == "GetAll":
            return Message.new_method_return(message, "a{sv}", [properties])
        name = message.body[1]
        if message.member == "Get" and name in properties:
            return Message.new_method_return(message, "v", [properties[name]])
        setter = obj.setters.get((interface, name))
        if message.member == "Set" and setter is not None:
            setter(message.body[2])
            return Message.new_method_return(message)
        raise DBusError(ErrorType.INVALID_ARGS, f"Cannot {message.member} property {name}")

    def _emit(self, path: str, interface: str, member: str, signature: str,
              body: list[Any]) -> None:
        signal = Message.new_signal(path, interface, member, signature, body)
        if self._held_signals is not None:
            self._held_signals.append(signal)
        else:
            self.send(signal)
