"""`edge bench decode`: notifications decoded per second on one core, against bumble's own
Heart Rate Measurement decoder and a bare `struct` decoder on the same packets, in one run."""

import random
import struct
from collections.abc import Callable, Sequence
from typing import Any

from edge.bench.timing import machine, per_second
from edge.gatt.heart_rate_measurement import HeartRateMeasurement
from edge.gatt.polar_pmd_data import PmdDataFrame

_PACKETS = 100_000
_ECG_FRAMES = 20_000
# A Polar H10 sends ECG at 130 Hz in frames of 73 samples.
_ECG_SAMPLES_PER_FRAME = 73
_ECG_PERIOD_NS = 1_000_000_000 // 130


def heart_rate_packets(count: int = _PACKETS, seed: int = 0) -> list[bytes]:
    """Packets like a strap's: contact supported and detected, one or two RR intervals."""
    rng = random.Random(seed)
    return [
        HeartRateMeasurement(rng.randint(50, 180), True, None,
                             tuple(rng.randint(300, 1300) for _ in range(rng.randint(1, 2))))
        .to_bytes()
        for _ in range(count)
    ]


def ecg_frames(count: int = _ECG_FRAMES, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    frames = []
    for index in range(count):
        samples = [rng.randint(-2000, 2000) for _ in range(_ECG_SAMPLES_PER_FRAME)]
        last_sample_ns = (index + 1) * _ECG_SAMPLES_PER_FRAME * _ECG_PERIOD_NS
        frames.append(PmdDataFrame.ecg(last_sample_ns, samples).to_bytes())
    return frames


def _ecg(frames: Sequence[bytes]) -> None:
    decode = PmdDataFrame.from_bytes
    for frame in frames:
        decode(frame)


def _ours(packets: Sequence[bytes]) -> None:
    decode = HeartRateMeasurement.from_bytes
    for packet in packets:
        decode(packet)


def _bare_struct(packets: Sequence[bytes]) -> None:
    """What a decoder that checks nothing costs: flags, 8-bit heart rate, RR intervals."""
    unpack = struct.unpack_from
    for packet in packets:
        unpack(f"<{(len(packet) - 2) // 2}H", packet, 2)


def _bumble() -> Callable[[Sequence[bytes]], None] | None:
    try:
        from bumble.profiles.heart_rate_service import HeartRateService
    except ImportError:
        return None
    decode = HeartRateService.HeartRateMeasurement.from_bytes

    def run(packets: Sequence[bytes]) -> None:
        for packet in packets:
            decode(packet)

    return run


def run_decode_benchmark() -> dict[str, Any]:
    packets = heart_rate_packets()
    ours = per_second(_ours, packets)
    bumble = _bumble()
    bumble_rate = per_second(bumble, packets) if bumble else None
    return {
        "benchmark": "decode",
        **machine(),
        "heart_rate_measurement": {
            "packets": len(packets),
            "edge_per_s": round(ours),
            "bumble_per_s": round(bumble_rate) if bumble_rate else None,
            "bare_struct_per_s": round(per_second(_bare_struct, packets)),
            "speedup_over_bumble": round(ours / bumble_rate, 2) if bumble_rate else None,
        },
        "polar_ecg_frames": {
            "frames": _ECG_FRAMES,
            "samples_per_frame": _ECG_SAMPLES_PER_FRAME,
            "edge_per_s": round(per_second(_ecg, ecg_frames())),
        },
    }
