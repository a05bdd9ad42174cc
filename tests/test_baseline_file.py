import logging
import stat
from pathlib import Path

import pytest

from edge.baseline_file import load_baselines, save_baselines
from edge.detect.baselines import DEFAULT_PARAMS, BaselineStore

DAY_S = 86_400.0


def learned_store() -> BaselineStore:
    store = BaselineStore(DEFAULT_PARAMS)
    heart_rate = store.baseline("patient-0001", "heart_rate")
    for second in range(0, int(4 * DAY_S), 60):
        heart_rate.add(float(second), 60.0 + second % 7)
    return store


def test_saved_baselines_load_back_the_same_and_only_the_owner_can_read_them(
        tmp_path: Path) -> None:
    path = tmp_path / "baselines.json"
    store = learned_store()
    save_baselines(store, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_baselines(path, DEFAULT_PARAMS, 0.0)
    assert loaded.to_dict() == store.to_dict()
    now = 4 * DAY_S + 3600
    assert loaded.baseline("patient-0001", "heart_rate").baseline(now) is not None


def test_no_file_yet_starts_empty(tmp_path: Path) -> None:
    store = load_baselines(tmp_path / "baselines.json", DEFAULT_PARAMS, 0.0)
    assert store.to_dict()["patients"] == {}


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"format": 99}', b"\xff\xfe",
                                     b'{"format": 1, "patients": {"p": {"spo2": 3}}}'])
def test_an_unusable_file_is_moved_aside_never_deleted_and_learning_starts_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes) -> None:
    path = tmp_path / "baselines.json"
    path.write_bytes(content)
    store = load_baselines(path, DEFAULT_PARAMS, 0.0)
    assert store.to_dict()["patients"] == {}
    assert (tmp_path / "baselines.json.unreadable").read_bytes() == content
    assert not path.exists()
    assert any(str(path) in message for message in caplog.messages)
    assert all(record.levelno == logging.ERROR for record in caplog.records)
