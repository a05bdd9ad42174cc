import asyncio
from pathlib import Path

from dbus_fast import RequestNameReply
from dbus_fast.aio import MessageBus

from edge.sim.bluez import PrivateSystemBus


async def _request_bluez_name(address: str) -> RequestNameReply:
    bus = await MessageBus(bus_address=address).connect()
    try:
        return await bus.request_name("org.bluez")
    finally:
        bus.disconnect()


def test_the_current_user_may_own_org_bluez_and_stop_leaves_nothing_behind() -> None:
    bus = PrivateSystemBus()
    address = bus.start()
    socket = Path(address.removeprefix("unix:path="))
    try:
        assert socket.is_socket()
        assert asyncio.run(_request_bluez_name(address)) is RequestNameReply.PRIMARY_OWNER
    finally:
        bus.stop()
    assert not socket.parent.exists()
