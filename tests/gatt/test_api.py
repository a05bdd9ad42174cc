"""The package's entry points: decode(), DECODERS, to_json()."""

import datetime as dt
import json

import pytest

from edge.gatt import (
    DECODERS,
    BatteryLevel,
    CgmMeasurement,
    CurrentTime,
    DateTime,
    DecodeError,
    HeartRateMeasurement,
    decode,
    to_json,
)
from edge.gatt.current_time import AdjustReason
from tests.gatt.strategies import ENCODABLE


def test_decoders_are_keyed_by_their_own_uuid() -> None:
    for uuid, codec in DECODERS.items():
        assert uuid == codec.UUID
    assert len(DECODERS) == len(ENCODABLE)


def test_decode_takes_short_and_long_uuids_in_any_case() -> None:
    assert decode("2a19", b"\x64") == BatteryLevel(100)
    assert decode("0x2A19", b"\x64") == BatteryLevel(100)
    assert decode("00002A19-0000-1000-8000-00805F9B34FB", b"\x64") == BatteryLevel(100)


def test_decode_rejects_unknown_and_malformed_uuids() -> None:
    with pytest.raises(DecodeError, match="no decoder"):
        decode("2a99", b"\x00")
    with pytest.raises(DecodeError, match="not a Bluetooth UUID"):
        decode("heart rate", b"\x00")


def test_cgm_decodes_without_crc_by_default() -> None:
    record = CgmMeasurement(120.0, 6)
    value = decode("2AA7", record.to_bytes() + record.to_bytes())
    assert to_json(value)["records"][1]["glucose_mg_per_dl"] == 120.0
    with pytest.raises(DecodeError, match="trailing"):
        decode("2AA7", record.to_bytes(e2e_crc=True))


def test_cgm_single_record_must_fill_the_packet() -> None:
    with pytest.raises(DecodeError, match="size: field says 6 bytes but the record has 12"):
        CgmMeasurement.from_bytes(CgmMeasurement(120.0, 6).to_bytes() * 2)


def test_to_json_is_json_with_normalised_units() -> None:
    value = HeartRateMeasurement(60, True, None, (1024, 512))
    assert json.loads(json.dumps(to_json(value))) == {
        "characteristic": "Heart Rate Measurement",
        "heart_rate_bpm": 60,
        "sensor_contact": True,
        "energy_expended_kj": None,
        "rr_intervals_1024": [1024, 512],
        "rr_intervals_ms": [1000.0, 500.0],
    }


def test_to_json_refuses_what_is_not_a_decoded_value() -> None:
    with pytest.raises(TypeError):
        to_json({"heart_rate_bpm": 60})
    with pytest.raises(TypeError):
        to_json(HeartRateMeasurement)


def test_times_convert_from_and_to_datetime() -> None:
    moment = dt.datetime(2024, 6, 6, 12, 4, 44, 500000)
    value = CurrentTime.from_datetime(moment, AdjustReason.MANUAL_TIME_UPDATE)
    assert value.day_of_week_name == "thursday"
    assert value.fractions256 == 128
    assert CurrentTime.from_bytes(value.to_bytes()).datetime == moment
    assert DateTime.from_datetime(moment).datetime == moment.replace(microsecond=0)
