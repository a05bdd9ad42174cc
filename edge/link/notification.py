from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Notification:
    """One characteristic value as it arrived from a device, before any decoding."""

    device_id: str
    characteristic: str
    payload: bytes
    # UTC seconds since the epoch, taken by the gateway when the value arrived.
    received_at: float
