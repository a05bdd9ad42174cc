"""The outbox: numbered, sealed at rest, drained by priority, within its disk budget and expiry,
and salvaged when its database is damaged."""

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from edge.config import OutboxSettings
from edge.messages.payloads import OutgoingMessage
from edge.outbox.store import Outbox, OutboxError

NOW = 1_800_000_000.0


def message(stream: str = "summary/strap-01", n: int = 0, phase: str = "") -> OutgoingMessage:
    payload: dict[str, object] = {"n": n, "secret": "heart rate 142"}
    if phase:
        payload["phase"] = phase
    return OutgoingMessage(stream, f"edge/v1/gw/{stream}", payload)


def alert(n: int) -> OutgoingMessage:
    return message("event/strap-01", n, "started")


def numbers(outbox: Outbox) -> list[int]:
    return [json.loads(m.payload)["n"] for m in outbox.next_batch(1000)]


def test_messages_are_numbered_per_stream_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message(n=1), message("event/strap-01", 2, "ended"), message(n=3)])
    outbox.close()
    reopened = Outbox(path)
    batch = reopened.next_batch(10)
    assert [json.loads(m.payload)["seq"] for m in batch] == [1, 1, 2]
    reopened.remove([batch[0].id])
    reopened.put([message(n=4)])
    assert [json.loads(m.payload)["seq"] for m in reopened.next_batch(10)] == [1, 2, 3]
    assert reopened.next_batch(10, exclude={batch[0].id, batch[1].id})[0].topic == \
        "edge/v1/gw/summary/strap-01"
    assert reopened.count() == 3


def test_alerts_go_first_then_events_summaries_and_diagnostics_each_oldest_first(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.put([message("diagnostic/strap-01", 1), message(n=2), message("event/strap-01", 3,
                "ended"), alert(4), message(n=5), alert(6), message("diagnostic/strap-01", 7)])
    assert numbers(outbox) == [4, 6, 3, 2, 5, 1, 7]
    assert outbox.depth() == {"alert": 2, "event": 1, "summary": 2, "diagnostic": 2}


def test_health_data_files_are_private_and_payloads_sealed_at_rest(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message()])
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len((path.parent / "outbox.key").read_bytes()) == 32
    outbox.close()
    on_disk = b"".join(p.read_bytes() for p in path.parent.glob("outbox.db*"))
    assert b"heart rate 142" not in on_disk and b"secret" not in on_disk
    assert json.loads(Outbox(path).next_batch(1)[0].payload)["secret"] == "heart rate 142"


def test_a_payload_that_does_not_open_is_dead_lettered_never_published(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message(n=1), message(n=2), message(n=3)])
    outbox.close()
    with sqlite3.connect(path) as db:  # swap two sealed payloads: each is bound to its place
        first, second = db.execute("SELECT payload FROM message ORDER BY id LIMIT 2").fetchall()
        db.execute("UPDATE message SET payload = ? WHERE id = 1", second)
        db.execute("UPDATE message SET payload = ? WHERE id = 2", first)
    reopened = Outbox(path)
    assert numbers(reopened) == [3]
    assert reopened.counters.dead_lettered == 2 and reopened.dead_letters() == 2
    other_key = Outbox(path, key_file=tmp_path / "another.key")
    assert numbers(other_key) == [] and other_key.dead_letters() == 3


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "outbox.key"
    Outbox(tmp_path / "outbox.db").close()
    key.chmod(0o644)
    with pytest.raises(OutboxError, match=r"outbox\.key: others may read it .*chmod 600"):
        Outbox(tmp_path / "outbox.db")


def test_over_budget_the_lowest_class_and_oldest_go_first_and_alerts_last_of_all(
    tmp_path: Path,
) -> None:
    one = len(json.dumps(message().payload)) + 60  # about one message's bytes, sealed
    outbox = Outbox(tmp_path / "outbox.db", OutboxSettings(max_mb=8 * one / 1e6))
    outbox.put([alert(1), message(n=2), message("diagnostic/strap-01", 3), alert(4),
                message(n=5), message("event/strap-01", 6, "ended")], NOW)
    assert outbox.counters.evicted == 0
    outbox.put([message("diagnostic/strap-01", 7), message(n=8), message(n=9)], NOW)
    # Over by about one message: the oldest diagnostic went first, then the newer one.
    assert numbers(outbox)[:2] == [1, 4] and 3 not in numbers(outbox)
    outbox.put([alert(n) for n in range(10, 20)], NOW)
    left = numbers(outbox)
    assert set(left) <= set(range(1, 20)) - {2, 3, 5, 6, 7, 8, 9}
    assert left == sorted(left) and left[-1] == 19  # only alerts, the oldest evicted first
    assert outbox.stored_bytes() <= 8 * one


def test_each_class_expires_after_its_own_time(tmp_path: Path) -> None:
    settings = OutboxSettings(alert_days=30, event_days=30, summary_days=7, diagnostic_days=2)
    outbox = Outbox(tmp_path / "outbox.db", settings)
    outbox.put([alert(1), message(n=2), message("diagnostic/strap-01", 3)], NOW)
    outbox.expire(NOW + 3 * 86400)
    assert numbers(outbox) == [1, 2]
    outbox.expire(NOW + 8 * 86400)
    assert numbers(outbox) == [1] and outbox.counters.expired == 2


def test_a_damaged_database_is_moved_aside_and_salvaged(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.db"
    outbox = Outbox(path)
    outbox.put([message(n=n) for n in range(1, 301)])
    outbox.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3: 4096 * 4] = b"\xff" * 4096  # one page destroyed
    data[:16] = b"not a database!!"  # and the header
    path.write_bytes(bytes(data))
    salvaged = Outbox(path)
    (aside,) = tmp_path.glob("outbox.db.corrupt-*")
    assert aside.read_bytes()[:16] == b"not a database!!"
    assert "moved aside" in caplog.text
    assert salvaged.counters.salvaged == 0  # without a header nothing is readable
    assert salvaged.count() == 0


def test_rows_of_a_partly_damaged_or_older_outbox_are_salvaged_and_sealed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as old:  # the first layout: plain JSON payloads, no priority
        old.executescript("""
            CREATE TABLE message (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,
              seq INTEGER NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
              created_at REAL NOT NULL);
            CREATE TABLE stream (name TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);""")
        for n in range(1, 6):
            old.execute("INSERT INTO message (stream, seq, topic, payload, created_at) VALUES "
                        "('event/strap-01', ?, 't', ?, ?)",
                        (n, json.dumps({"n": n, "phase": "started", "seq": n}).encode(), NOW))
        old.execute("INSERT INTO message (stream, seq, topic, payload, created_at) VALUES "
                    "('summary/strap-01', 1, 't', x'00ff', ?)", (NOW,))
    outbox = Outbox(path)
    assert (outbox.counters.salvaged, outbox.counters.unsalvageable) == (5, 1)
    assert numbers(outbox) == [1, 2, 3, 4, 5]
    outbox.put([alert(6)])  # numbering goes on where the old outbox left it
    assert [json.loads(m.payload)["seq"] for m in outbox.next_batch(10)] == [1, 2, 3, 4, 5, 6]
    assert b'"phase"' not in path.read_bytes()
