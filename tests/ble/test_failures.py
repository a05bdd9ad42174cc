import random

import pytest
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError
from bleak_retry_connector import BleakConnectionError, BleakOutOfConnectionSlotsError

from edge.backoff import Backoff
from edge.link.ble.failures import Failure, classify


def wrapped(cause: BaseException) -> BleakConnectionError:
    """As bleak-retry-connector raises it after its last attempt."""
    try:
        raise BleakConnectionError("strap-01 - A0:9E:1A:00:00:01: Failed to connect") from cause
    except BleakConnectionError as error:
        return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]),
         Failure.IN_PROGRESS),
        (wrapped(BleakDBusError("org.bluez.Error.InProgress", [])), Failure.IN_PROGRESS),
        (BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
         Failure.ABORTED),
        (wrapped(BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"])),
         Failure.ABORTED),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]),
         Failure.ADAPTER_DOWN),
        (BleakDeviceNotFoundError("A0:9E:1A:00:00:01"), Failure.NOT_FOUND),
        (BleakDBusError("org.freedesktop.DBus.Error.UnknownObject", []), Failure.NOT_FOUND),
        (BleakOutOfConnectionSlotsError("no available connection slot"), Failure.OUT_OF_SLOTS),
        (TimeoutError(), Failure.TIMEOUT),
        (BleakError("something new"), Failure.OTHER),
    ],
)
def test_bluez_errors_are_classified(error: BaseException, expected: Failure) -> None:
    assert classify(error) is expected


def test_backoff_grows_exponentially_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(cap_s=10, rng=random.Random(1))
    delays = [backoff.next_delay(1.0) for _ in range(8)]
    ceilings = [1, 2, 4, 8, 10, 10, 10, 10]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays), "jitter makes every delay different"
    backoff.reset()
    assert backoff.next_delay(1.0) <= 1.0
