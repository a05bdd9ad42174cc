"""Whatever bytes arrive, a decoder returns a value or raises DecodeError, nothing else."""

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.gatt import DECODERS, DecodeError
from edge.gatt.cgm_measurement import CgmMeasurement
from edge.gatt.polar_pmd_control_point import PmdControlPointResponse
from edge.gatt.polar_pmd_data import PmdDataFrame

_CODECS: list[Any] = list(DECODERS.values())


@pytest.mark.parametrize("codec", _CODECS, ids=lambda codec: codec.NAME)
@given(data=st.binary(max_size=64))
def test_random_bytes_raise_only_decode_errors(codec: Any, data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        codec.from_bytes(data)


@given(st.binary(max_size=64))
def test_random_cgm_records_with_crc_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        CgmMeasurement.from_bytes_many(data, e2e_crc=True)


@given(st.binary(max_size=40).map(lambda data: bytes([len(data) + 1]) + data))
def test_random_cgm_records_of_the_right_size_raise_only_decode_errors(data: bytes) -> None:
    for e2e_crc in (False, True):
        with contextlib.suppress(DecodeError):
            CgmMeasurement.from_bytes(data, e2e_crc=e2e_crc)


@given(
    measurement_type=st.sampled_from([0, 2]),
    frame_type=st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81]),
    payload=st.binary(max_size=300),
)
def test_random_polar_payloads_raise_only_decode_errors(
    measurement_type: int, frame_type: int, payload: bytes
) -> None:
    data = bytes([measurement_type]) + bytes(8) + bytes([frame_type]) + payload
    with contextlib.suppress(DecodeError):
        PmdDataFrame.from_bytes(data)


@given(st.binary(max_size=40))
def test_random_polar_responses_raise_only_decode_errors(parameters: bytes) -> None:
    for op_code in (1, 2, 4):
        with contextlib.suppress(DecodeError):
            PmdControlPointResponse.from_bytes(bytes([0xF0, op_code, 0, 0, 0]) + parameters)
