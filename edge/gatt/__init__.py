"""Pure codecs for GATT characteristics: bytes in, dataclasses out. No I/O."""

from typing import ClassVar, Protocol, Self

from edge.gatt.errors import DecodeError
from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.gatt.uuids import normalize_uuid


class Characteristic(Protocol):
    UUID: ClassVar[str]

    @classmethod
    def from_bytes(cls, data: bytes) -> Self: ...


DECODERS: dict[str, type[Characteristic]] = {
    codec.UUID: codec for codec in (HeartRateMeasurement,)
}


def decode(uuid: str, data: bytes) -> Characteristic:
    """Decode a characteristic value; raises DecodeError for bad bytes or an unknown UUID."""
    codec = DECODERS.get(normalize_uuid(uuid))
    if codec is None:
        raise DecodeError(uuid, "no decoder for this characteristic")
    return codec.from_bytes(data)


__all__ = ["DECODERS", "Characteristic", "DecodeError", "HeartRateMeasurement", "decode"]
