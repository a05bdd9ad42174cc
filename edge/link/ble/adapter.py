"""The few BlueZ operations bleak does not offer: an adapter's `Powered`, and the battery level
that bluetoothd's battery plugin takes from the Battery Service and shows as `Battery1`."""

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

_BLUEZ = "org.bluez"
_PROPERTIES = "org.freedesktop.DBus.Properties"
_ADAPTER = "org.bluez.Adapter1"
_BATTERY = "org.bluez.Battery1"


class BluezCallError(Exception):
    pass


def adapter_path(adapter: str) -> str:
    return f"/org/bluez/{adapter}"


def device_path(adapter: str, address: str) -> str:
    return f"{adapter_path(adapter)}/dev_{address.upper().replace(':', '_')}"


async def set_powered(adapter: str, powered: bool) -> None:
    await _properties_call(adapter_path(adapter), "Set", "ssv",
                           [_ADAPTER, "Powered", Variant("b", powered)])


async def battery_percentage(adapter: str, address: str) -> int:
    reply = await _properties_call(device_path(adapter, address), "Get", "ss",
                                   [_BATTERY, "Percentage"])
    return int(reply[0].value)


async def _properties_call(path: str, member: str, signature: str,
                           body: list[object]) -> list[Variant]:
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(Message(destination=_BLUEZ, path=path, interface=_PROPERTIES,
                                       member=member, signature=signature, body=body))
    finally:
        bus.disconnect()
    if reply is None or reply.message_type == MessageType.ERROR:
        name = reply.error_name if reply is not None else "no reply"
        detail = reply.body[0] if reply is not None and reply.body else ""
        raise BluezCallError(f"{path}: {member} {body[1]}: {name} {detail}".rstrip())
    return list(reply.body)
