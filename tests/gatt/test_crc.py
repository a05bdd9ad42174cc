from typing import Any

import pytest

from edge.gatt.crc import crc16_mcrf4xx
from tests.gatt.vectors import load


@pytest.mark.parametrize("vector", load("crc16_mcrf4xx.toml")["vector"],
                         ids=lambda vector: vector["hex"])
def test_computes_mcrf4xx(vector: dict[str, Any]) -> None:
    assert crc16_mcrf4xx(bytes.fromhex(vector["hex"])) == vector["crc"]


def test_crc_of_nothing_is_the_initial_value() -> None:
    assert crc16_mcrf4xx(b"") == 0xFFFF
