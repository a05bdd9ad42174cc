"""The gateway's wiring, without a broker."""

from pathlib import Path

import pytest

from edge.config import Config, parse_config
from edge.gateway import Gateway
from edge.gatt import HeartRateMeasurement
from edge.link.notification import Notification


def config_in(folder: Path) -> Config:
    return parse_config({
        "gateway": {"id": "gw-1", "data_dir": str(folder / "data")},
        "uplink": {"plaintext": True},
        "devices": [{"id": "strap-01", "patient": "patient-0001"}],
    })


def test_a_fault_inside_the_pipeline_is_counted_and_logged_never_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    gateway = Gateway(config_in(tmp_path))

    def broken(notification: Notification) -> list[object]:
        raise RuntimeError("injected fault, heart rate 142")

    monkeypatch.setattr(gateway._pipeline, "handle", broken)
    packet = HeartRateMeasurement(70, True, None, ()).to_bytes()
    for second in range(3):
        gateway._accept(Notification("strap-01", HeartRateMeasurement.UUID, packet, second))
    gateway.close()
    assert gateway.counters.pipeline_errors == 3
    # Logged once, with the error's type and place, not its message, which may quote a value.
    (logged,) = [m for m in caplog.messages if "packet not processed" in m]
    assert logged.startswith("device strap-01: packet not processed: RuntimeError at ")
    assert logged.endswith(f"{Path(__file__).name}:{broken.__code__.co_firstlineno + 1}")
    assert "142" not in caplog.text
