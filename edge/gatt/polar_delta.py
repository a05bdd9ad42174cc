"""The delta-compressed payload of Polar PMD data frames (frame type with bit 7 set).

Layout, as polar-ble-sdk's BlePMDClient.parseDeltaFramesAll reads it: a reference sample, one
signed little-endian value of `reference_bytes` per channel, then blocks of
[bit width u8][sample count u8][ceil(width * count * channels / 8) bytes]. A block packs
count * channels two's complement deltas of `width` bits, channels interleaved, least significant
bit first: bit 0 of the first delta is bit 0 of the block's first byte. Padding fills the last
byte. Each sample is the previous one plus its delta; the reference is the frame's first sample.
"""

import numpy as np
import numpy.typing as npt

from edge.gatt.reader import FieldReader

MAX_BIT_WIDTH = 32
MAX_BLOCK_SAMPLES = 255
_INT32 = np.iinfo(np.int32)

Samples = npt.NDArray[np.int32]


def read_delta_samples(reader: FieldReader, channels: int, reference_bytes: int) -> Samples:
    """Every sample of the payload up to the end of the packet, shape (samples, channels)."""
    reference = [int.from_bytes(reader.take(reference_bytes, "reference sample"), "little",
                                signed=True) for _ in range(channels)]
    parts = [np.array([reference], dtype=np.int64)]
    while reader.remaining:
        parts.append(_read_block(reader, channels, len(parts)))
    samples = np.cumsum(np.concatenate(parts), axis=0)
    if samples.min() < _INT32.min or samples.max() > _INT32.max:
        raise reader.error("delta blocks: the deltas take a sample beyond 32 bits")
    return samples.astype(np.int32)


def delta_payload(samples: npt.ArrayLike, reference_bytes: int,
                  block_samples: int = MAX_BLOCK_SAMPLES) -> bytes:
    """Compress samples of shape (samples, channels), each block as narrow as its deltas allow."""
    values = np.asarray(samples, dtype=np.int64)
    values = values.reshape(len(values), -1)
    out = bytearray()
    for reference in values[0].tolist():
        out += reference.to_bytes(reference_bytes, "little", signed=True)
    deltas = np.diff(values, axis=0)
    for start in range(0, len(deltas), block_samples):
        block = deltas[start : start + block_samples]
        width = _bit_width(block)
        out += bytes([width, len(block)]) + _pack(block.ravel(), width)
    return bytes(out)


def _read_block(reader: FieldReader, channels: int, number: int) -> npt.NDArray[np.int64]:
    name = f"delta block {number}"
    width = reader.u8(f"{name} bit width")
    if not 1 <= width <= MAX_BIT_WIDTH:
        raise reader.error(f"{name} bit width: {width} not in 1..{MAX_BIT_WIDTH}")
    count = reader.u8(f"{name} sample count")
    if count == 0:
        raise reader.error(f"{name} sample count: 0, a block holds at least one sample")
    bits = width * count * channels
    packed = reader.take(-(-bits // 8), f"{name} deltas")
    unpacked = np.unpackbits(np.frombuffer(packed, dtype=np.uint8), bitorder="little")[:bits]
    weights = np.left_shift(np.int64(1), np.arange(width, dtype=np.int64))
    unsigned = unpacked.reshape(-1, width).astype(np.int64) @ weights
    signed = unsigned - ((unsigned >> (width - 1)) << width)
    return signed.reshape(count, channels)


def _bit_width(deltas: npt.NDArray[np.int64]) -> int:
    """The narrowest two's complement width that holds every delta (at least 1 bit)."""
    high, low = int(deltas.max()), int(deltas.min())
    width = max(high.bit_length(), (-low - 1).bit_length()) + 1
    if width > MAX_BIT_WIDTH:
        raise ValueError(f"a delta of {high if high > -low else low} needs {width} bits, "
                         f"more than {MAX_BIT_WIDTH}")
    return width


def _pack(deltas: npt.NDArray[np.int64], width: int) -> bytes:
    unsigned = deltas & ((1 << width) - 1)
    bits = (unsigned[:, np.newaxis] >> np.arange(width, dtype=np.int64)) & 1
    return np.packbits(bits.astype(np.uint8).ravel(), bitorder="little").tobytes()
