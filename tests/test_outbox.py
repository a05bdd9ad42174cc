import json
import stat
from pathlib import Path

import pytest

from edge.messages.payloads import OutgoingMessage
from edge.outbox.store import Outbox


def message(stream: str = "summary/strap-01", n: int = 0) -> OutgoingMessage:
    return OutgoingMessage(stream, f"edge/v1/gw/{stream}", {"n": n})


def test_messages_are_numbered_per_stream_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message(n=1), message("event/strap-01", 2), message(n=3)])
    outbox.close()
    reopened = Outbox(path)
    pending = reopened.pending(0, 10)
    assert [json.loads(m.payload) for m in pending] == [
        {"n": 1, "seq": 1}, {"n": 2, "seq": 1}, {"n": 3, "seq": 2}]
    reopened.remove([pending[0].id])
    reopened.put([message(n=4)])
    assert [json.loads(m.payload)["seq"] for m in reopened.pending(0, 10)] == [1, 2, 3]
    assert reopened.pending(pending[1].id, 10)[0].topic == "edge/v1/gw/summary/strap-01"
    assert reopened.count() == 3


def test_health_data_files_are_private_to_the_gateway_user(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message()])
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    outbox.close()


def test_a_corrupt_database_is_moved_aside_not_deleted(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not a database" * 100)
    outbox = Outbox(path)
    outbox.put([message()])
    assert outbox.count() == 1
    (aside,) = tmp_path.glob("outbox.db.corrupt-*")
    assert aside.read_bytes().startswith(b"this is not a database")
    assert "moved aside" in caplog.text
