"""Polar PMD data frames (FB005C82-…, notified): ECG and accelerometer samples.

A frame is [measurement type u8][time stamp u64, ns since 2000-01-01T00:00:00 of the LAST
sample][frame type u8: bit 7 set for a delta-compressed payload][payload]. Supported here:

| measurement | frame type | channels | bytes per sample | unit |
| ECG | 0 raw | 1 | 3 | µV |
| ECG | 0 compressed | 1 | 3 (reference) | µV |
| ACC | 0, 1, 2 raw | 3 (x, y, z) | 1, 2, 3 | mG |
| ACC | 0 compressed | 3 | 2 (reference) | counts, to be multiplied by the start response's factor |
| ACC | 1 compressed | 3 | 2 (reference) | mG |

polar-ble-sdk has no parser for compressed ECG; its layout here follows the raw frame (a 3-byte
reference), which is what the simulator sends. Samples are a read-only numpy int32 array, shape
(samples,) for ECG and (samples, 3) for ACC.
"""

import datetime as dt
import struct
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Self

import numpy as np
import numpy.typing as npt

from edge.gatt.errors import DecodeError
from edge.gatt.polar_delta import delta_payload, read_delta_samples
from edge.gatt.polar_pmd import (
    PMD_DATA_UUID,
    POLAR_EPOCH,
    PmdMeasurementType,
    measurement_type_name,
)
from edge.gatt.reader import FieldReader

_NAME = "Polar PMD Data"
_HEADER = struct.Struct("<BQB")
_MEASUREMENT_TYPE_MASK = 0x3F  # the top two bits carry the recording type, not used online
_COMPRESSED = 0x80
_FRAME_TYPE_MASK = 0x7F
_RAW_DTYPES = {1: "i1", 2: "<i2"}


class _Layout(NamedTuple):
    channels: int
    sample_bytes: int
    unit: str


_LAYOUTS: dict[tuple[int, int, bool], _Layout] = {
    (PmdMeasurementType.ECG, 0, False): _Layout(1, 3, "uV"),
    (PmdMeasurementType.ECG, 0, True): _Layout(1, 3, "uV"),
    (PmdMeasurementType.ACC, 0, False): _Layout(3, 1, "mG"),
    (PmdMeasurementType.ACC, 1, False): _Layout(3, 2, "mG"),
    (PmdMeasurementType.ACC, 2, False): _Layout(3, 3, "mG"),
    (PmdMeasurementType.ACC, 0, True): _Layout(3, 2, "count"),
    (PmdMeasurementType.ACC, 1, True): _Layout(3, 2, "mG"),
}


@dataclass(frozen=True, slots=True, eq=False)
class PmdDataFrame:
    UUID: ClassVar[str] = PMD_DATA_UUID
    NAME: ClassVar[str] = _NAME
    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ("measurement_type_name", "timestamp", "unit")

    measurement_type: int
    # Nanoseconds since 2000-01-01T00:00:00 UTC, of the last sample in the frame.
    timestamp_ns: int
    frame_type: int
    compressed: bool
    samples: npt.NDArray[np.int32]

    @property
    def measurement_type_name(self) -> str | None:
        return measurement_type_name(self.measurement_type)

    @property
    def timestamp(self) -> dt.datetime:
        return POLAR_EPOCH + dt.timedelta(microseconds=self.timestamp_ns // 1000)

    @property
    def unit(self) -> str:
        return _layout(self.measurement_type, self.frame_type, self.compressed).unit

    @classmethod
    def ecg(cls, timestamp_ns: int, samples_uv: npt.ArrayLike, compressed: bool = False) -> Self:
        """An ECG frame (frame type 0) of µV samples, for simulators."""
        samples = np.array(samples_uv, dtype=np.int32)
        samples.flags.writeable = False
        return cls(PmdMeasurementType.ECG, timestamp_ns, 0, compressed, samples)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) < _HEADER.size:
            raise DecodeError(_NAME, f"header: need {_HEADER.size} bytes (measurement type, "
                              f"time stamp, frame type), packet has {len(data)}")
        type_byte, timestamp_ns, frame_byte = _HEADER.unpack_from(data)
        measurement_type = type_byte & _MEASUREMENT_TYPE_MASK
        frame_type = frame_byte & _FRAME_TYPE_MASK
        compressed = bool(frame_byte & _COMPRESSED)
        layout = _layout(measurement_type, frame_type, compressed)
        if compressed:
            samples = read_delta_samples(FieldReader(_NAME, data, _HEADER.size), layout.channels,
                                         layout.sample_bytes)
            if layout.channels == 1:
                samples = samples.ravel()
        else:
            samples = _raw_samples(data, layout)
        samples.flags.writeable = False
        return cls(measurement_type, timestamp_ns, frame_type, compressed, samples)

    def to_bytes(self) -> bytes:
        layout = _layout(self.measurement_type, self.frame_type, self.compressed)
        header = _HEADER.pack(self.measurement_type, self.timestamp_ns,
                              self.frame_type | (_COMPRESSED if self.compressed else 0))
        if self.compressed:
            return header + delta_payload(self.samples, layout.sample_bytes)
        return header + _raw_payload(self.samples, layout.sample_bytes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PmdDataFrame):
            return NotImplemented
        return (self._header() == other._header()
                and np.array_equal(self.samples, other.samples))

    def __hash__(self) -> int:
        return hash((self._header(), self.samples.tobytes()))

    def _header(self) -> tuple[int, int, int, bool]:
        return self.measurement_type, self.timestamp_ns, self.frame_type, self.compressed


def _layout(measurement_type: int, frame_type: int, compressed: bool) -> _Layout:
    layout = _LAYOUTS.get((measurement_type, frame_type, compressed))
    if layout is None:
        kind = "compressed" if compressed else "raw"
        raise DecodeError(_NAME, f"frame type: {kind} frame type {frame_type} of measurement type "
                          f"{measurement_type} ({measurement_type_name(measurement_type)}) "
                          "is not supported")
    return layout


def _raw_samples(data: bytes, layout: _Layout) -> npt.NDArray[np.int32]:
    payload_bytes = len(data) - _HEADER.size
    sample_size = layout.channels * layout.sample_bytes
    if payload_bytes == 0 or payload_bytes % sample_size:
        raise DecodeError(_NAME, f"samples: {payload_bytes} payload bytes are not a whole, "
                          f"non-zero number of {sample_size}-byte samples")
    count = payload_bytes // layout.sample_bytes
    values: npt.NDArray[np.int32]
    if layout.sample_bytes == 3:
        # Read each sample as the top three bytes of an int32 whose low byte is the byte before
        # it, then shift that byte out: sign extension for free, and no copy before the shift.
        values = np.ndarray((count,), np.dtype("<i4"), data, _HEADER.size - 1, (3,)) >> 8
    else:
        values = np.frombuffer(data, _RAW_DTYPES[layout.sample_bytes], count,
                               _HEADER.size).astype(np.int32)
    return values if layout.channels == 1 else values.reshape(-1, layout.channels)


def _raw_payload(samples: npt.ArrayLike, sample_bytes: int) -> bytes:
    values = np.asarray(samples, dtype=np.int64).ravel()
    limit = 1 << (8 * sample_bytes - 1)
    if values.size and (values.min() < -limit or values.max() >= limit):
        raise ValueError(f"a sample does not fit {sample_bytes} signed bytes")
    little_endian = values.astype("<i4").view(np.uint8).reshape(-1, 4)
    return little_endian[:, :sample_bytes].tobytes()
