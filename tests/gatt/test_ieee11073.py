"""IEEE 11073-20601 SFLOAT and FLOAT: vectors, specials, rounding, round trips."""

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.gatt.ieee11073 import (
    FLOAT_NAN,
    FLOAT_NEGATIVE_INFINITY,
    FLOAT_NRES,
    FLOAT_POSITIVE_INFINITY,
    FLOAT_RESERVED,
    SFLOAT_NAN,
    SFLOAT_NEGATIVE_INFINITY,
    SFLOAT_NRES,
    SFLOAT_POSITIVE_INFINITY,
    SFLOAT_RESERVED,
    decode_float,
    decode_sfloat,
    encode_float,
    encode_sfloat,
)
from tests.gatt.vectors import load

_VECTORS = load("ieee11073.toml")


def _raw(hex_bytes: str) -> int:
    return int.from_bytes(bytes.fromhex(hex_bytes), "little")


@pytest.mark.parametrize("vector", _VECTORS["sfloat"], ids=lambda vector: vector["hex"])
def test_decodes_sfloat_vectors(vector: dict[str, Any]) -> None:
    assert decode_sfloat(_raw(vector["hex"])) == (None if vector.get("special") else
                                                  vector["value"])


@pytest.mark.parametrize("vector", _VECTORS["float"], ids=lambda vector: vector["hex"])
def test_decodes_float_vectors(vector: dict[str, Any]) -> None:
    assert decode_float(_raw(vector["hex"])) == (None if vector.get("special") else
                                                 vector["value"])


@pytest.mark.parametrize("vector", [v for v in _VECTORS["sfloat"] if not v.get("special")],
                         ids=lambda vector: vector["hex"])
def test_encodes_sfloat_vectors_back_to_their_value(vector: dict[str, Any]) -> None:
    assert decode_sfloat(encode_sfloat(vector["value"])) == vector["value"]


def test_every_special_value_means_absent() -> None:
    for raw in (SFLOAT_NAN, SFLOAT_NRES, SFLOAT_POSITIVE_INFINITY, SFLOAT_NEGATIVE_INFINITY,
                SFLOAT_RESERVED):
        assert decode_sfloat(raw) is None
    for raw in (FLOAT_NAN, FLOAT_NRES, FLOAT_POSITIVE_INFINITY, FLOAT_NEGATIVE_INFINITY,
                FLOAT_RESERVED):
        assert decode_float(raw) is None
    # The same mantissas at another exponent are numbers.
    assert decode_sfloat(0x17FF) == 20470.0
    assert decode_float(0x01800000) == -83886080.0


def test_decimal_values_decode_without_binary_noise() -> None:
    assert repr(decode_sfloat(0xF16E)) == "36.6"
    assert repr(decode_float(0xFF00016E)) == "36.6"
    assert repr(decode_float(0xFD000001)) == "0.001"


def test_the_exponent_is_not_biased() -> None:
    # 0x8001: exponent -8 as two's complement; a biased reading would give exponent 0.
    assert decode_sfloat(0x8001) == 1e-8
    assert decode_sfloat(0x7001) == 1e7


def test_picks_the_shortest_mantissa() -> None:
    assert encode_sfloat(36.6) == 0xF16E
    assert encode_sfloat(120.0) == 0x100C
    assert encode_sfloat(0.0) == 0x0000
    assert encode_float(37.6) == 0xFF000178
    # Away from exponent 0 the mantissa may use its whole range, -2048 included.
    assert encode_sfloat(-20480.0) == 0x1800


def test_rounds_what_does_not_fit_half_to_even() -> None:
    assert decode_sfloat(encode_sfloat(36.6123)) == 36.6  # 3661 > 2047, the mantissa limit
    assert decode_sfloat(encode_sfloat(12.345)) == 12.34
    assert decode_sfloat(encode_sfloat(20455.0)) == 20460.0  # 2045.5 rounds to even, 2046
    assert decode_sfloat(encode_sfloat(2046.0)) == 2050.0  # 2046e0 would be +INF
    assert decode_sfloat(encode_sfloat(1e-9)) == 0.0
    assert decode_float(encode_float(3.14159265)) == 3.141593


def test_encodes_missing_and_infinite_values_as_specials() -> None:
    assert encode_sfloat(None) == encode_sfloat(math.nan) == SFLOAT_NAN
    assert encode_sfloat(math.inf) == SFLOAT_POSITIVE_INFINITY
    assert encode_sfloat(-math.inf) == SFLOAT_NEGATIVE_INFINITY
    assert encode_float(None) == encode_float(math.nan) == FLOAT_NAN
    assert encode_float(math.inf) == FLOAT_POSITIVE_INFINITY
    assert encode_float(-math.inf) == FLOAT_NEGATIVE_INFINITY


def test_refuses_values_too_large() -> None:
    with pytest.raises(ValueError, match="too large"):
        encode_sfloat(2048e7)
    with pytest.raises(ValueError, match="too large"):
        encode_float(1e140)


def test_every_sfloat_value_survives_encoding() -> None:
    for raw in range(0x10000):
        value = decode_sfloat(raw)
        assert decode_sfloat(encode_sfloat(value)) == value, hex(raw)


@given(st.integers(0, 0xFFFFFFFF))
def test_float_values_survive_encoding(raw: int) -> None:
    value = decode_float(raw)
    assert decode_float(encode_float(value)) == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_encoding_any_float_stays_within_rounding(value: float) -> None:
    decoded = decode_float(encode_float(value))
    assert decoded is not None
    assert math.isclose(decoded, value, rel_tol=1e-6, abs_tol=1e-128)


def test_encodings_fit_their_width() -> None:
    struct.pack("<H", encode_sfloat(-2045e-8))
    struct.pack("<I", encode_float(-8388605e-128))
