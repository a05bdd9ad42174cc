"""Virtual wearables on bumble controllers, one controller each: a USB dongle per device on a
rig ("usb:0", "usb:1", ...), TCP transports, or, for tests, virtual controllers on one LocalLink."""

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from bumble.link import LocalLink

from edge.sim.radio.bumble_peripheral import BumblePeripheral, attach, serve
from edge.sim.wearables import Wearable


class BumbleRadio:
    def __init__(self, peripherals: Sequence[BumblePeripheral]) -> None:
        self._by_address = {p.spec.address: p for p in peripherals}

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        self._by_address[address].notify(characteristic_uuid, payload)

    def drop_link(self, address: str) -> None:
        self._by_address[address].drop_links()

    def set_in_range(self, address: str, in_range: bool) -> None:
        self._by_address[address].set_in_range(in_range)


@asynccontextmanager
async def on_transports(wearables: Sequence[Wearable],
                        transports: Sequence[str]) -> AsyncIterator[BumbleRadio]:
    """Each wearable on the controller at the transport of the same position."""
    if len(transports) < len(wearables):
        raise ValueError(f"{len(wearables)} devices need as many transports, got "
                         f"{len(transports)}: {', '.join(transports) or 'none'}")
    async with AsyncExitStack() as stack:
        served = [await stack.enter_async_context(serve(w.peripheral, transport))
                  for w, transport in zip(wearables, transports, strict=False)]
        yield BumbleRadio(served)


@asynccontextmanager
async def on_local_link(wearables: Sequence[Wearable],
                        link: LocalLink) -> AsyncIterator[BumbleRadio]:
    """Each wearable on a virtual controller of `link`, bumble's radio-free link."""
    async with AsyncExitStack() as stack:
        served = [await stack.enter_async_context(attach(w.peripheral, link))
                  for w in wearables]
        yield BumbleRadio(served)
