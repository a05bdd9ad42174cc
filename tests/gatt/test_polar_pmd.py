"""Polar PMD: control point commands, sample arrays, delta compression."""

from typing import Any

import numpy as np
import pytest

from edge.gatt import DecodeError, PmdDataFrame, decode
from edge.gatt.polar_delta import delta_payload
from edge.gatt.polar_pmd import PMD_CONTROL_POINT_UUID, PMD_DATA_UUID, PmdMeasurementType
from edge.gatt.polar_pmd_control_point import (
    PmdSettingType,
    get_measurement_settings,
    start_measurement,
    stop_measurement,
)
from tests.gatt.vectors import load

_ECG_SAMPLES_PER_FRAME = 73  # a 130 Hz H10 frame
_NEW_YEAR_2024_NS = 757_382_400 * 10**9  # 8766 days after the Polar epoch, 2000-01-01


@pytest.mark.parametrize("command", load("polar_pmd_control_point.toml")["command"],
                         ids=lambda command: command["hex"])
def test_encodes_control_point_commands(command: dict[str, Any]) -> None:
    kind, measurement_type = command["kind"], command["measurement_type"]
    if kind == "start":
        settings = {PmdSettingType[name.upper()]: value
                    for name, value in command["settings"].items()}
        encoded = start_measurement(measurement_type, settings)
    elif kind == "stop":
        encoded = stop_measurement(measurement_type)
    else:
        encoded = get_measurement_settings(measurement_type)
    assert encoded == bytes.fromhex(command["hex"])


def test_start_refuses_to_request_a_factor() -> None:
    with pytest.raises(ValueError, match="factor"):
        start_measurement(PmdMeasurementType.ACC, {PmdSettingType.FACTOR: 1})


def test_decode_knows_both_pmd_characteristics() -> None:
    assert decode(PMD_CONTROL_POINT_UUID.upper(), bytes.fromhex("F0 02 00 00 00")).NAME == (
        "Polar PMD Control Point")
    frame = decode(PMD_DATA_UUID, bytes.fromhex("00 00 94 35 77 00 00 00 00 00 02 80 FF"))
    assert isinstance(frame, PmdDataFrame)


def _ecg_frame(samples: list[int], compressed: bool = False) -> PmdDataFrame:
    return PmdDataFrame.ecg(_NEW_YEAR_2024_NS, samples, compressed)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_full_ecg_frame_round_trips(compressed: bool) -> None:
    rng = np.random.default_rng(7)
    samples = rng.integers(-(2**23), 2**23, _ECG_SAMPLES_PER_FRAME).tolist()
    frame = _ecg_frame(samples, compressed)
    decoded = PmdDataFrame.from_bytes(frame.to_bytes())
    assert decoded == frame
    assert decoded.samples.tolist() == samples
    assert decoded.timestamp.isoformat() == "2024-01-01T00:00:00+00:00"


def test_samples_are_a_read_only_int32_array() -> None:
    frame = PmdDataFrame.from_bytes(_ecg_frame([1, -2, 3]).to_bytes())
    assert frame.samples.dtype == np.int32
    assert frame.samples.shape == (3,)
    with pytest.raises(ValueError, match="read-only"):
        frame.samples[0] = 5


def test_acc_samples_have_three_channels() -> None:
    data = bytes.fromhex("02 00 00 00 00 00 00 00 00 00 FF 01 7F 80 00 02")
    frame = PmdDataFrame.from_bytes(data)
    assert frame.samples.shape == (2, 3)
    assert frame.samples.tolist() == [[-1, 1, 127], [-128, 0, 2]]
    assert frame.unit == "mG"


def test_compression_shrinks_a_smooth_signal_and_splits_long_frames() -> None:
    samples = [round(1000 * np.sin(index / 20)) for index in range(600)]
    compressed = _ecg_frame(samples, compressed=True).to_bytes()
    assert len(compressed) < len(_ecg_frame(samples).to_bytes()) / 2
    assert PmdDataFrame.from_bytes(compressed).samples.tolist() == samples
    payload = delta_payload(np.array(samples)[:, np.newaxis], 3)
    assert payload[3:5] == bytes([payload[3], 255])  # the first block holds 255 deltas


def test_deltas_wider_than_32_bits_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="bits"):
        delta_payload(np.array([[-(2**31)], [2**31 - 1]]), 4)


def test_raw_samples_that_do_not_fit_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        _ecg_frame([2**23]).to_bytes()


def test_decoded_deltas_may_not_leave_32_bits() -> None:
    # Reference 2**23 - 1, then 300 deltas of +2**23 - 1 pushed through two 24-bit blocks.
    block = bytes([24, 255]) + (2**23 - 1).to_bytes(3, "little") * 255
    data = bytes([0]) + bytes(8) + bytes([0x80]) + (2**23 - 1).to_bytes(3, "little") + block * 2
    with pytest.raises(DecodeError, match="beyond 32 bits"):
        PmdDataFrame.from_bytes(data)


def test_frames_compare_by_value_and_hash_alike() -> None:
    first, second = _ecg_frame([1, 2, 3]), _ecg_frame([1, 2, 3])
    assert first == second
    assert hash(first) == hash(second)
    assert first != _ecg_frame([1, 2, 4])
    assert first != _ecg_frame([1, 2, 3], compressed=True)
