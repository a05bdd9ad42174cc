"""The few BlueZ adapter operations bleak does not offer: reading and setting `Powered`."""

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

_BLUEZ = "org.bluez"
_PROPERTIES = "org.freedesktop.DBus.Properties"
_ADAPTER = "org.bluez.Adapter1"


class AdapterError(Exception):
    pass


async def set_powered(adapter: str, powered: bool) -> None:
    await _call(adapter, "Set", "ssv", [_ADAPTER, "Powered", Variant("b", powered)])


async def is_powered(adapter: str) -> bool:
    reply = await _call(adapter, "Get", "ss", [_ADAPTER, "Powered"])
    return bool(reply[0].value)


async def _call(adapter: str, member: str, signature: str, body: list[object]) -> list[Variant]:
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        reply = await bus.call(Message(
            destination=_BLUEZ, path=f"/org/bluez/{adapter}", interface=_PROPERTIES,
            member=member, signature=signature, body=body,
        ))
    finally:
        bus.disconnect()
    if reply is None or reply.message_type == MessageType.ERROR:
        detail = reply.body[0] if reply is not None and reply.body else "no reply"
        name = reply.error_name if reply is not None else "no reply"
        raise AdapterError(f"adapter {adapter}: {member} Powered failed: {name}: {detail}")
    return list(reply.body)
