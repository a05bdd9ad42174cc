"""What a virtual wearable shows a central (its advertising data and its GATT table), and the
radio it speaks through: the emulated BlueZ, bumble, or, in-process, the gateway itself."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

_BLUETOOTH_BASE_UUID = "-0000-1000-8000-00805f9b34fb"

ReadHandler = Callable[[], bytes]
# Called with the bytes a central wrote. Notifications it sends through the emulator reach the
# central after the write's reply, as an indication answering a control point write does.
WriteHandler = Callable[[bytes], None]


def full_uuid(uuid: str) -> str:
    """'2a19', '0x2A19' or a 128-bit UUID, in the lowercase 128-bit form BlueZ reports."""
    text = uuid.lower().removeprefix("0x")
    if len(text) == 4:
        return f"0000{text}{_BLUETOOTH_BASE_UUID}"
    if len(text) == 8:
        return f"{text}{_BLUETOOTH_BASE_UUID}"
    return str(UUID(text))


class Radio(Protocol):
    """How a virtual wearable reaches the centrals in range."""

    def notify(self, address: str, characteristic_uuid: str, payload: bytes) -> None:
        """Send a value to every central subscribed to the characteristic (a notification or an
        indication, as its flags say); dropped when none is."""

    def drop_link(self, address: str) -> None:
        """The device ends its connections, as on a link loss; it advertises again at once."""

    def set_in_range(self, address: str, in_range: bool) -> None:
        """The device leaves radio range (or is switched off), or comes back."""


class AttError(Exception):
    """Raised by a read or write handler to refuse the request with an ATT error code, which
    BlueZ reports as "Operation failed with ATT error: 0x.." and bleak turns into
    BleakGATTProtocolError."""

    def __init__(self, code: int) -> None:
        super().__init__(f"ATT error 0x{code:02x}")
        self.code = code


@dataclass
class Descriptor:
    uuid: str
    value: bytes = b""
    flags: Sequence[str] = ("read",)


@dataclass
class Characteristic:
    """`flags` uses BlueZ's names: read, write, write-without-response, notify, indicate, ...
    Without `on_read`, reads return `value`; without `on_write`, a write replaces `value`."""

    uuid: str
    flags: Sequence[str] = ("read",)
    value: bytes = b""
    on_read: ReadHandler | None = None
    on_write: WriteHandler | None = None
    descriptors: Sequence[Descriptor] = ()


@dataclass
class Service:
    uuid: str
    characteristics: Sequence[Characteristic] = ()
    primary: bool = True


@dataclass
class Peripheral:
    """A wearable in radio range of every adapter.

    While an adapter discovers, the peripheral is reported at once and then again every
    `advertising_interval` seconds (never again when None, except through
    `BluezEmulator.advertise`). Like most wearables it stops advertising while connected unless
    `advertises_while_connected`. `connect_latency` delays every successful Connect.
    """

    address: str
    name: str | None = None
    address_type: Literal["public", "random"] = "public"
    service_uuids: Sequence[str] = ()
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    rssi: int = -60
    tx_power: int | None = None
    services: Sequence[Service] = ()
    advertising_interval: float | None = 0.1
    advertises_while_connected: bool = False
    connect_latency: float = 0.0
    mtu: int = 247

    def __post_init__(self) -> None:
        self.address = self.address.upper()

    def find_characteristic(self, uuid: str) -> Characteristic:
        wanted = full_uuid(uuid)
        for service in self.services:
            for characteristic in service.characteristics:
                if full_uuid(characteristic.uuid) == wanted:
                    return characteristic
        raise KeyError(f"{self.address} has no characteristic {uuid}")
