import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.gatt import DecodeError, HeartRateMeasurement, decode

# Hand-built from the Heart Rate Service 1.0 field layout (section 3.1.1): flags, heart rate
# (uint8 or uint16), energy expended (uint16, kJ), RR intervals (uint16, 1/1024 s).
VECTORS = [
    ("0048", HeartRateMeasurement(72)),
    ("014801", HeartRateMeasurement(0x148)),
    ("0648", HeartRateMeasurement(72, sensor_contact=True)),
    ("0448", HeartRateMeasurement(72, sensor_contact=False)),
    # Contact "detected" without "supported" means nothing.
    ("0248", HeartRateMeasurement(72, sensor_contact=None)),
    ("084834 12", HeartRateMeasurement(72, energy_expended_kj=0x1234)),
    ("1048 0004", HeartRateMeasurement(72, rr_intervals_1024=(1024,))),
    ("19 4801 3412 0004 0002", HeartRateMeasurement(0x0148, None, 0x1234, (1024, 512))),
]


@pytest.mark.parametrize(("hex_bytes", "expected"), VECTORS)
def test_decodes_spec_layouts(hex_bytes: str, expected: HeartRateMeasurement) -> None:
    assert HeartRateMeasurement.from_bytes(bytes.fromhex(hex_bytes)) == expected


def test_rr_intervals_are_converted_to_milliseconds() -> None:
    value = HeartRateMeasurement.from_bytes(bytes.fromhex("1048 0004 0002"))
    assert value.rr_intervals_ms == (1000.0, 500.0)


@pytest.mark.parametrize(
    ("hex_bytes", "reason"),
    [
        ("", "empty packet"),
        ("01 48", "heart rate: flags 0x01 announce uint16 but packet has 2 bytes"),
        ("10 48", "RR interval: flag 0x10 set but no RR bytes follow"),
        ("10 48 00", "RR interval: 1 bytes remain, not a whole number of uint16 values"),
        ("08 48 01", "energy expended: flag 0x08 set but only 1 bytes remain, need 2"),
        ("00 48 00", "1 unexpected trailing bytes after the fields flags 0x00 announce"),
    ],
)
def test_names_the_field_that_is_wrong(hex_bytes: str, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        HeartRateMeasurement.from_bytes(bytes.fromhex(hex_bytes))
    assert caught.value.reason.startswith(reason)
    assert str(caught.value).startswith("Heart Rate Measurement: ")


def test_decode_finds_the_codec_by_short_or_long_uuid() -> None:
    assert decode("2A37", b"\x00\x48") == HeartRateMeasurement(72)
    assert decode("00002a37-0000-1000-8000-00805f9b34fb", b"\x00\x48") == HeartRateMeasurement(72)
    with pytest.raises(DecodeError, match="no decoder"):
        decode("2a99", b"\x00")


@given(st.binary(max_size=32))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        HeartRateMeasurement.from_bytes(data)


@given(
    st.builds(
        HeartRateMeasurement,
        heart_rate_bpm=st.integers(0, 0xFFFF),
        sensor_contact=st.none() | st.booleans(),
        energy_expended_kj=st.none() | st.integers(0, 0xFFFF),
        rr_intervals_1024=st.lists(st.integers(0, 0xFFFF), max_size=9).map(tuple),
    )
)
def test_encode_then_decode_round_trips(value: HeartRateMeasurement) -> None:
    assert HeartRateMeasurement.from_bytes(value.to_bytes()) == value
