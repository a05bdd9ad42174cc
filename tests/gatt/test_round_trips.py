"""Every encoder's bytes decode back to the value they came from."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.gatt import DECODERS, CgmMeasurement, CgmMeasurementRecords, to_json
from tests.gatt.strategies import ENCODABLE, cgm_measurements


def test_every_decoder_has_a_strategy() -> None:
    assert {codec.__name__ for codec in DECODERS.values()} == set(ENCODABLE)


@pytest.mark.parametrize("name", sorted(ENCODABLE))
@given(data=st.data())
def test_encode_then_decode_round_trips(name: str, data: st.DataObject) -> None:
    value: Any = data.draw(ENCODABLE[name])
    assert type(value).from_bytes(value.to_bytes()) == value
    json.dumps(to_json(value), allow_nan=False)


@given(st.lists(cgm_measurements, min_size=1, max_size=4))
def test_cgm_records_with_crc_round_trip(records: list[CgmMeasurement]) -> None:
    value = CgmMeasurementRecords(tuple(records))
    assert CgmMeasurementRecords.from_bytes(value.to_bytes(e2e_crc=True), e2e_crc=True) == value
    for record in records:
        assert CgmMeasurement.from_bytes(record.to_bytes(e2e_crc=True), e2e_crc=True) == record
