"""Units as UCUM codes, and conversions to the gateway's normalised units: mmHg, °C, mg/dL."""

from decimal import Decimal
from enum import StrEnum

MMHG_PER_KPA = 7.50062
MG_PER_DL_PER_MMOL_PER_L = 18.0182
# Conversions by a factor that is not a power of ten are rounded to this many decimals: finer
# than any of these devices resolves, coarse enough to hide binary floating-point noise.
_DECIMALS = 2


class PressureUnit(StrEnum):
    MMHG = "mm[Hg]"
    KPA = "kPa"


class TemperatureUnit(StrEnum):
    CELSIUS = "Cel"
    FAHRENHEIT = "[degF]"


class GlucoseUnit(StrEnum):
    KG_PER_L = "kg/L"
    MOL_PER_L = "mol/L"


def to_mmhg(value: float | None, unit: PressureUnit) -> float | None:
    if value is None or unit is PressureUnit.MMHG:
        return value
    return round(value * MMHG_PER_KPA, _DECIMALS)


def to_celsius(value: float | None, unit: TemperatureUnit) -> float | None:
    if value is None or unit is TemperatureUnit.CELSIUS:
        return value
    return round((value - 32) * 5 / 9, _DECIMALS)


def to_mg_per_dl(value: float | None, unit: GlucoseUnit) -> float | None:
    if value is None:
        return None
    if unit is GlucoseUnit.KG_PER_L:
        return shift_decimal(value, 5)
    return round(shift_decimal(value, 3) * MG_PER_DL_PER_MMOL_PER_L, _DECIMALS)


def shift_decimal(value: float, places: int) -> float:
    """value * 10**places without binary noise: 0.0012 kg/L gives 120.0, not 120.00000000000001."""
    return float(Decimal(repr(value)).scaleb(places))
