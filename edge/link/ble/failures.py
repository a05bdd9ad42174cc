"""Connection failures sorted into the classes that call for different handling. Pure."""

import asyncio
from collections.abc import Iterator
from enum import Enum

from bleak.exc import BleakDBusError, BleakDeviceNotFoundError
from bleak_retry_connector import (
    BleakAbortedError,
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
)


class Failure(Enum):
    # Another operation holds the adapter (BlueZ's InProgress): wait a moment, then retry.
    IN_PROGRESS = "in_progress"
    # le-connection-abort-by-local and kin: radio trouble, usually gone on the next try.
    ABORTED = "aborted"
    # The device is not there (any more): wait for it to advertise again.
    NOT_FOUND = "not_found"
    # The controller has no connection slot free.
    OUT_OF_SLOTS = "out_of_slots"
    # The adapter is off, gone or not ready: a matter for the adapter supervisor.
    ADAPTER_DOWN = "adapter_down"
    TIMEOUT = "timeout"
    # The device went silent while connected.
    STALLED = "stalled"
    OTHER = "other"


# Least wait before the next attempt, per class; exponential backoff grows from here.
BASE_DELAY_S = {
    Failure.IN_PROGRESS: 1.0,
    Failure.ABORTED: 0.5,
    Failure.NOT_FOUND: 2.0,
    Failure.OUT_OF_SLOTS: 4.0,
    Failure.ADAPTER_DOWN: 5.0,
    Failure.TIMEOUT: 2.0,
    Failure.STALLED: 1.0,
    Failure.OTHER: 2.0,
}

_BY_DBUS_ERROR = {
    "org.bluez.Error.InProgress": Failure.IN_PROGRESS,
    "org.bluez.Error.NotReady": Failure.ADAPTER_DOWN,
    "org.bluez.Error.NotAvailable": Failure.ADAPTER_DOWN,
    "org.freedesktop.DBus.Error.UnknownObject": Failure.NOT_FOUND,
    "org.freedesktop.DBus.Error.ServiceUnknown": Failure.ADAPTER_DOWN,
}
_BY_MESSAGE = (
    ("le-connection-abort-by-local", Failure.ABORTED),
    ("Software caused connection abort", Failure.ABORTED),
    ("br-connection-canceled", Failure.ABORTED),
    ("available connection", Failure.OUT_OF_SLOTS),
    ("connection-limit", Failure.OUT_OF_SLOTS),
    ("connection slot", Failure.OUT_OF_SLOTS),
    ("No resources", Failure.OUT_OF_SLOTS),
    ("Operation already in progress", Failure.IN_PROGRESS),
    ("InProgress", Failure.IN_PROGRESS),
    ("NotReady", Failure.ADAPTER_DOWN),
    ("Resource Not Ready", Failure.ADAPTER_DOWN),
    ("not found", Failure.NOT_FOUND),
)
_BY_TYPE: tuple[tuple[type[BaseException], Failure], ...] = (
    (BleakOutOfConnectionSlotsError, Failure.OUT_OF_SLOTS),
    (BleakDeviceNotFoundError, Failure.NOT_FOUND),
    (BleakNotFoundError, Failure.NOT_FOUND),
    (BleakAbortedError, Failure.ABORTED),
    (TimeoutError, Failure.TIMEOUT),
    (asyncio.TimeoutError, Failure.TIMEOUT),
)


def classify(error: BaseException) -> Failure:
    """The class of a connection failure, looking through wrapped causes: bleak-retry-connector
    wraps BlueZ's D-Bus errors, and does not recognise InProgress."""
    for link in _chain(error):
        if isinstance(link, BleakDBusError) and link.dbus_error in _BY_DBUS_ERROR:
            return _BY_DBUS_ERROR[link.dbus_error]
        text = str(link)
        for fragment, failure in _BY_MESSAGE:
            if fragment in text:
                return failure
    for kind, failure in _BY_TYPE:
        if isinstance(error, kind):
            return failure
    return Failure.OTHER


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__
