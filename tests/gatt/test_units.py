from edge.gatt.units import (
    GlucoseUnit,
    PressureUnit,
    TemperatureUnit,
    to_celsius,
    to_mg_per_dl,
    to_mmhg,
)


def test_pressure_in_kpa_is_converted_to_mmhg() -> None:
    assert to_mmhg(18.9, PressureUnit.KPA) == 141.76
    assert to_mmhg(120.0, PressureUnit.MMHG) == 120.0
    assert to_mmhg(None, PressureUnit.KPA) is None


def test_fahrenheit_is_converted_to_celsius() -> None:
    assert to_celsius(98.6, TemperatureUnit.FAHRENHEIT) == 37.0
    assert to_celsius(36.6, TemperatureUnit.CELSIUS) == 36.6
    assert to_celsius(None, TemperatureUnit.FAHRENHEIT) is None


def test_glucose_is_converted_to_mg_per_dl_without_binary_noise() -> None:
    assert to_mg_per_dl(0.0012, GlucoseUnit.KG_PER_L) == 120.0
    assert to_mg_per_dl(1e-08, GlucoseUnit.KG_PER_L) == 0.001
    assert to_mg_per_dl(0.0067, GlucoseUnit.MOL_PER_L) == 120.72  # 6.7 mmol/L * 18.0182
    assert to_mg_per_dl(None, GlucoseUnit.MOL_PER_L) is None
