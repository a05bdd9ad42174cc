"""Decode the vectors of every characteristic: published examples and hand-built ones."""

import json
from typing import Any

import pytest

from edge.gatt import DECODERS, DecodeError, to_json
from edge.gatt.uuids import normalize_uuid
from tests.gatt.vectors import (
    NUMBER_FORMAT_FILES,
    assert_subset,
    cases,
    characteristic_files,
    load,
    lookup,
)


def _codec(uuid: str) -> Any:
    return DECODERS[normalize_uuid(uuid)]


@pytest.mark.parametrize(("uuid", "vector"), cases("vector"))
def test_decodes_the_vector(uuid: str, vector: dict[str, Any]) -> None:
    options = vector.get("options", {})
    value = _codec(uuid).from_bytes(bytes.fromhex(vector["hex"]), **options)
    actual = to_json(value)
    json.dumps(actual, allow_nan=False)
    assert_subset(actual, vector.get("expected", {}))
    for path in vector.get("null", []):
        assert lookup(actual, path) is None, path
    if "samples_head" in vector:
        assert actual["samples"][: len(vector["samples_head"])] == vector["samples_head"]
        assert len(actual["samples"]) == vector["sample_count"]


@pytest.mark.parametrize(("uuid", "vector"), cases("vector"))
def test_reencoding_the_vector_gives_the_same_value(uuid: str, vector: dict[str, Any]) -> None:
    options = vector.get("options", {})
    codec = _codec(uuid)
    value = codec.from_bytes(bytes.fromhex(vector["hex"]), **options)
    assert codec.from_bytes(value.to_bytes(**options), **options) == value


@pytest.mark.parametrize(("uuid", "error"), cases("error"))
def test_names_the_field_that_is_wrong(uuid: str, error: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as caught:
        _codec(uuid).from_bytes(bytes.fromhex(error["hex"]), **error.get("options", {}))
    assert caught.value.reason.startswith(error["reason"]), caught.value.reason
    assert str(caught.value).startswith(f"{caught.value.characteristic}: ")


def test_every_decoder_has_vectors_and_errors() -> None:
    covered: dict[str, set[str]] = {}
    for name in characteristic_files():
        content = load(name)
        for kind in ("vector", "error"):
            for entry in content.get(kind, []):
                uuid = normalize_uuid(entry.get("uuid", content.get("uuid")))
                covered.setdefault(uuid, set()).add(kind)
    for uuid, codec in DECODERS.items():
        assert covered.get(uuid) == {"vector", "error"}, codec.NAME


@pytest.mark.parametrize("name", [*characteristic_files(), *NUMBER_FORMAT_FILES])
def test_every_vector_names_its_source(name: str) -> None:
    for kind, entries in load(name).items():
        if isinstance(entries, list):
            for entry in entries:
                assert entry.get("source"), f"{name} [[{kind}]] {entry.get('hex')}"
