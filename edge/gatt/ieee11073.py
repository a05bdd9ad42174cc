"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit) medical floats.

value = mantissa * 10**exponent, both two's complement, the exponent not biased. The special values
(NaN, NRes, +INF, -INF and the reserved one) all mean "no usable number" and decode to None.
"""

import math
from decimal import Decimal

SFLOAT_NAN = 0x07FF
SFLOAT_NRES = 0x0800
SFLOAT_POSITIVE_INFINITY = 0x07FE
SFLOAT_NEGATIVE_INFINITY = 0x0802
SFLOAT_RESERVED = 0x0801

FLOAT_NAN = 0x007FFFFF
FLOAT_NRES = 0x00800000
FLOAT_POSITIVE_INFINITY = 0x007FFFFE
FLOAT_NEGATIVE_INFINITY = 0x00800002
FLOAT_RESERVED = 0x00800001

_SFLOAT_MANTISSA_BITS = 12
_FLOAT_MANTISSA_BITS = 24
_SFLOAT_EXPONENTS = range(-8, 8)
_FLOAT_EXPONENTS = range(-128, 128)

_POWERS_OF_TEN: tuple[int, ...] = tuple(10**power for power in range(129))


def decode_sfloat(raw: int) -> float | None:
    """The value of a 16-bit SFLOAT, None for its special values."""
    mantissa = raw & 0x0FFF
    exponent = raw >> 12
    if exponent == 0 and SFLOAT_POSITIVE_INFINITY <= mantissa <= SFLOAT_NEGATIVE_INFINITY:
        return None
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    if exponent >= 0x8:
        exponent -= 0x10
    return _scale(mantissa, exponent)


def decode_float(raw: int) -> float | None:
    """The value of a 32-bit FLOAT, None for its special values."""
    mantissa = raw & 0x00FFFFFF
    exponent = raw >> 24
    if exponent == 0 and FLOAT_POSITIVE_INFINITY <= mantissa <= FLOAT_NEGATIVE_INFINITY:
        return None
    if mantissa >= 0x00800000:
        mantissa -= 0x01000000
    if exponent >= 0x80:
        exponent -= 0x100
    return _scale(mantissa, exponent)


def encode_sfloat(value: float | None) -> int:
    """The 16-bit SFLOAT for a value; None and NaN become NaN, infinities ±INF.

    Rounds to the nearest representable decimal (at most 4 significant digits); raises ValueError
    for magnitudes too large to represent.
    """
    if value is None or not math.isfinite(value):
        return _special(value, SFLOAT_NAN, SFLOAT_POSITIVE_INFINITY, SFLOAT_NEGATIVE_INFINITY)
    mantissa, exponent = _mantissa_exponent(value, _SFLOAT_MANTISSA_BITS, _SFLOAT_EXPONENTS)
    return ((exponent & 0x0F) << 12) | (mantissa & 0x0FFF)


def encode_float(value: float | None) -> int:
    """The 32-bit FLOAT for a value; None and NaN become NaN, infinities ±INF.

    Rounds to the nearest representable decimal (at most 7 significant digits); raises ValueError
    for magnitudes too large to represent.
    """
    if value is None or not math.isfinite(value):
        return _special(value, FLOAT_NAN, FLOAT_POSITIVE_INFINITY, FLOAT_NEGATIVE_INFINITY)
    mantissa, exponent = _mantissa_exponent(value, _FLOAT_MANTISSA_BITS, _FLOAT_EXPONENTS)
    return ((exponent & 0xFF) << 24) | (mantissa & 0x00FFFFFF)


def _scale(mantissa: int, exponent: int) -> float:
    # Integer arithmetic with one correctly rounded division gives the float nearest to the
    # decimal the device meant: 366 * 10**-1 decodes to 36.6, not 36.599999999999994.
    if exponent >= 0:
        return float(mantissa * _POWERS_OF_TEN[exponent])
    return mantissa / _POWERS_OF_TEN[-exponent]


def _special(value: float | None, nan: int, positive_infinity: int, negative_infinity: int) -> int:
    if value is None or math.isnan(value):
        return nan
    return positive_infinity if value > 0 else negative_infinity


def _mantissa_exponent(value: float, mantissa_bits: int, exponents: range) -> tuple[int, int]:
    # repr() is the shortest decimal that reads back as the same float, so a value that came from
    # a medical float finds its original mantissa and exponent again.
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)  # always, for a finite value
    negative = bool(sign)
    magnitude = int("".join(map(str, digits)))
    while magnitude and magnitude % 10 == 0 and exponent < exponents.stop - 1:
        magnitude //= 10
        exponent += 1
    while exponent < exponents.start or not _fits(magnitude, negative, exponent, mantissa_bits):
        magnitude = _round_half_even_tenth(magnitude)
        exponent += 1
    while exponent >= exponents.stop and _fits(magnitude * 10, negative, exponent - 1,
                                               mantissa_bits):
        magnitude *= 10
        exponent -= 1
    if exponent >= exponents.stop:
        raise ValueError(f"{value!r} is too large for a medical float")
    if magnitude == 0:
        return 0, 0
    return (-magnitude if negative else magnitude), exponent


def _fits(magnitude: int, negative: bool, exponent: int, mantissa_bits: int) -> bool:
    """Whether a two's complement mantissa holds the magnitude without forming a special value.

    The specials sit at exponent 0, at the mantissas of largest magnitude (+2046, +2047, -2046,
    -2047, -2048 for an SFLOAT); at any other exponent those mantissas are ordinary numbers.
    """
    half_range = 1 << (mantissa_bits - 1)
    if exponent == 0:
        return magnitude <= half_range - 3
    return magnitude <= (half_range if negative else half_range - 1)


def _round_half_even_tenth(magnitude: int) -> int:
    quotient, remainder = divmod(magnitude, 10)
    if remainder > 5 or (remainder == 5 and quotient % 2):
        quotient += 1
    return quotient
