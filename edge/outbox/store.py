"""The durable outbox: SQLite in WAL mode, payloads sealed with AES-GCM, drained by priority.

A message is committed (synchronous=FULL) before anything publishes it, and deleted only after
the broker has acknowledged it, so a crash or power cut at any moment loses nothing: at worst
a message acknowledged but not yet deleted is published again, with the same message id.

Alerts go before events, events before summaries, summaries before diagnostics; within a class,
oldest first, so each stream stays in order. Over the disk budget, the lowest class and oldest
message goes first: an alert only when nothing else is left. Each class expires after its own
time. A database that cannot be read is moved aside and what can be read of it is salvaged.
"""

import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import OutboxSettings
from edge.messages.payloads import PRIORITIES, MessageClass, OutgoingMessage
from edge.outbox.sealing import KeyFileError, Sealer, SealError, load_or_create_key

log = logging.getLogger(__name__)

_FORMAT = 2  # PRAGMA user_version of this layout; an older outbox is salvaged into a new one
_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    patient TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS message_order ON message (priority, id);
CREATE INDEX IF NOT EXISTS message_expiry ON message (expires_at);
CREATE TABLE IF NOT EXISTS stream (
    name TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL,
    dead_at REAL NOT NULL,
    reason TEXT NOT NULL
);
"""
_EXPIRY_CHECK_S = 60.0
_INSERT = ("INSERT INTO message (priority, patient, stream, seq, topic, payload, created_at, "
           "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
# Rows per INSERT statement in `put`: one statement of many rows costs SQLite and the sqlite3
# module much less per row than executemany (8 parameters a row: within the oldest limit, 999).
_ROWS_PER_INSERT = 100
_COLUMNS = 8  # of _INSERT
_PAYLOAD = 5  # its place among them
_READ = ("SELECT id, stream, seq, topic, payload FROM message WHERE priority = ? AND id > ? "
         "ORDER BY id LIMIT ?")
# _READ as one row: in whatever order the aggregates see the rows, the same for all of them.
_READ_AS_ONE = ("SELECT count(*), group_concat(id), group_concat(seq), "
                "group_concat(length(payload)), CAST(group_concat(payload, '') AS BLOB), "
                f"json_group_array(stream), json_group_array(topic) FROM ({_READ})")
_SET_LAST_SEQ = ("INSERT INTO stream (name, last_seq) VALUES (?, ?) "
                 "ON CONFLICT(name) DO UPDATE SET last_seq = excluded.last_seq")
_EVICTION_BATCH = 200
_IDS_PER_STATEMENT = 500


def _compact_json() -> Callable[[Any], str]:
    """`_ENCODER.encode` for a dict: the same text, by the same C encoder, which `encode`
    builds anew for every call (where there is no C encoder, `encode` itself)."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    probe = {"a": [1, 2.5, None, True, "\u00e9\n"], "b": {"c": -0.0}}
    try:
        encode = make(None, _ENCODER.default, json.encoder.encode_basestring_ascii, None,
                      _ENCODER.key_separator, _ENCODER.item_separator, _ENCODER.sort_keys,
                      _ENCODER.skipkeys, _ENCODER.allow_nan)
        join = "".join
        if join(encode(probe, 0)) == _ENCODER.encode(probe):
            return lambda value: join(encode(value, 0))
    except TypeError:  # none, or not as this Python's json module makes it
        pass
    return _ENCODER.encode


_ENCODE = _compact_json()


def _numbered_json(message: OutgoingMessage, seq: int) -> bytes:
    """The JSON of `message.numbered(seq)`, byte for byte; for a payload of the gateway's own
    format without a `seq` of its own, without copying it: `seq` comes last either way."""
    payload = message.payload
    if not payload or "seq" in payload or "resourceType" in payload:
        return _ENCODE(message.numbered(seq)).encode()
    return f'{_ENCODE(payload)[:-1]},"seq":{seq:d}}}'.encode()


@functools.cache
def _insert_rows(count: int) -> str:
    """`_INSERT` for `count` rows at once (in this order: AUTOINCREMENT numbers them so)."""
    return _INSERT + ", (?, ?, ?, ?, ?, ?, ?, ?)" * (count - 1)


class OutboxError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    priority: int
    topic: str
    payload: bytes


@dataclass
class OutboxCounters:
    evicted: int = 0  # dropped to keep within the disk budget
    expired: int = 0
    dead_lettered: int = 0  # refused by the broker too often, or unreadable
    salvaged: int = 0  # recovered from a database moved aside
    unsalvageable: int = 0


class Outbox:
    def __init__(self, path: Path, settings: OutboxSettings | None = None,
                 key_file: Path | None = None) -> None:
        """`key_file`: the AES key (made on first use); outbox.key beside the database by
        default."""
        self.path = path
        self.settings = settings or OutboxSettings()
        days: dict[MessageClass, float] = {
            "alert": self.settings.alert_days, "event": self.settings.event_days,
            "summary": self.settings.summary_days, "diagnostic": self.settings.diagnostic_days}
        self._lifetimes_s = {kind: value * 86400 for kind, value in days.items()}
        self.counters = OutboxCounters()
        # Grows whenever queued messages are deleted undelivered (evicted, expired, purged):
        # a reader holding messages it took earlier, not yet published, must read them again.
        self.withdrawals = 0
        if path.parent.exists() and not path.parent.is_dir():
            raise OutboxError(f"cannot create the outbox at {path}: {path.parent} is not a folder")
        try:
            _create_private(path)
        except OSError as error:
            raise OutboxError(f"cannot create the outbox at {path}: {error.strerror}") from None
        try:
            self._sealer = Sealer(load_or_create_key(key_file or path.with_name("outbox.key")))
        except KeyFileError as error:
            raise OutboxError(str(error)) from None
        self._last_expiry = 0.0
        self._bytes = 0
        self._seqs: dict[str, int] = {}  # each stream's last number, as committed
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            self._db = self._replace_and_salvage(str(error))
        self._bytes = self._stored_bytes()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables and version != _FORMAT:
                raise sqlite3.DatabaseError(f"outbox format {version}, this gateway writes "
                                            f"{_FORMAT}")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={_FORMAT}")
            db.execute("SELECT count(*) FROM message").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    # Writing

    def put(self, messages: Sequence[OutgoingMessage], now: float | None = None) -> list[int]:
        """Number each message in its stream, seal it and commit them all in one transaction;
        then keep within the budget and drop what has expired. Returns the messages' ids."""
        if not messages:
            return []
        now = time.time() if now is None else now
        numbers: dict[str, int] = {}
        # The rows' values one after the other (_COLUMNS a row), the sealed payloads to come.
        values: list[Any] = []
        opening = []  # (plaintext, context) to seal
        for message in messages:
            stream = message.stream
            previous = numbers.get(stream)
            seq = numbers[stream] = (self._last_seq(stream) if previous is None
                                     else previous) + 1
            values += self._row(message, seq, b"", now)  # sealed below, all at once
            opening.append((_numbered_json(message, seq), f"{stream}/{seq}".encode()))
        sealed = self._sealer.seal_many(opening)
        values[_PAYLOAD::_COLUMNS] = sealed
        try:
            with self._transaction():
                first = self._next_id()
                for start in range(0, len(messages), _ROWS_PER_INSERT):
                    count = min(_ROWS_PER_INSERT, len(messages) - start)
                    self._db.execute(_insert_rows(count),
                                     values[start * _COLUMNS:(start + count) * _COLUMNS])
                self._db.executemany(_SET_LAST_SEQ, numbers.items())
        except BaseException:
            self._seqs.clear()  # what the database holds is the truth again
            raise
        self._seqs.update(numbers)
        self._bytes += sum(map(len, sealed)) + sum(len(message.topic) for message in messages)
        self._keep_within_budget()
        if now - self._last_expiry >= _EXPIRY_CHECK_S:
            self.expire(now)
        return list(range(first, first + len(messages)))

    def _row(self, message: OutgoingMessage, seq: int, sealed: bytes,
             created_at: float) -> tuple[Any, ...]:
        message_class = message.message_class
        return (PRIORITIES[message_class], message.patient_id or "", message.stream, seq,
                message.topic, sealed, created_at, created_at + self._lifetimes_s[message_class])

    def _insert(self, message: OutgoingMessage, seq: int, sealed: bytes,
                created_at: float) -> None:
        self._db.execute(_INSERT, self._row(message, seq, sealed, created_at))
        self._bytes += len(sealed) + len(message.topic)

    def _last_seq(self, stream: str) -> int:
        if stream not in self._seqs:
            row = self._db.execute("SELECT last_seq FROM stream WHERE name = ?",
                                   (stream,)).fetchone()
            self._seqs[stream] = int(row[0]) if row else 0
        return self._seqs[stream]

    def _next_id(self) -> int:
        """The id the next row will get (AUTOINCREMENT: never reused, inside a transaction)."""
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'message'"
                               ).fetchone()
        return (int(row[0]) if row else 0) + 1

    def _keep_within_budget(self) -> None:
        budget = self.settings.max_mb * 1e6
        while self._bytes > budget:
            victims = self._db.execute(
                "SELECT id, length(payload) + length(topic) FROM message "
                "ORDER BY priority DESC, id LIMIT ?", (_EVICTION_BATCH,)).fetchall()
            if not victims:
                return
            chosen, freed = [], 0
            for message_id, size in victims:
                if self._bytes - freed <= budget:
                    break
                chosen.append(message_id)
                freed += size
            self.remove(chosen)
            self.counters.evicted += len(chosen)
            self.withdrawals += 1
            log.warning("outbox over its %.0f MB budget: dropped the %d lowest-priority, "
                        "oldest messages", self.settings.max_mb, len(chosen))

    def expire(self, now: float) -> None:
        self._last_expiry = now
        with self._transaction():
            freed = self._db.execute(
                "SELECT count(*), coalesce(sum(length(payload) + length(topic)), 0) "
                "FROM message WHERE expires_at <= ?", (now,)).fetchone()
            self._db.execute("DELETE FROM message WHERE expires_at <= ?", (now,))
        self.counters.expired += int(freed[0])
        if freed[0]:
            self.withdrawals += 1
        self._bytes -= int(freed[1])

    # Reading and settling

    def next_batch(self, limit: int, exclude: Collection[int] = (),
                   after: Mapping[int, int] | None = None,
                   priorities: Collection[int] | None = None) -> list[StoredMessage]:
        """Up to `limit` messages to publish, highest priority and oldest first, leaving out
        the ids in `exclude` (in flight, or waiting to be retried) and, per priority, ids up to
        `after[priority]` (what the caller has taken already); of the `priorities` given only,
        if any are. A payload that does not open is moved to the dead letters."""
        batch: list[StoredMessage] = []
        for priority in sorted(PRIORITIES.values() if priorities is None else priorities):
            last = (after or {}).get(priority, 0)
            while len(batch) < limit:
                rows = self._rows(priority, last, limit - len(batch))
                if not rows:
                    break
                last = int(rows[-1][0])
                batch += self._opened(priority, [row for row in rows if row[0] not in exclude]
                                      if exclude else rows)
        return batch

    def _rows(self, priority: int, after: int, limit: int) -> list[tuple[Any, ...]]:
        """(id, stream, seq, topic, payload) of up to `limit` messages of a priority after id
        `after`, oldest first: all in one row of SQLite's, as lists and a concatenation of
        the payloads. Each row of a result costs a step, and each step lets go of the GIL and
        waits to take it back, which while paho's thread works costs more than the reading;
        unless the parts do not agree, when the rows are read one by one."""
        try:
            count, ids, seqs, sizes, payloads, streams, topics = self._db.execute(
                _READ_AS_ONE, (priority, after, limit)).fetchone()
        except sqlite3.DataError:  # more than SQLite makes one value of: one row at a time
            return self._db.execute(_READ, (priority, after, limit)).fetchall()
        if not count:
            return []
        rows = []
        try:
            position = 0
            for message_id, stream, seq, topic, size in zip(
                    ids.split(","), json.loads(streams), seqs.split(","), json.loads(topics),
                    sizes.split(","), strict=True):
                end = position + int(size)
                rows.append((int(message_id), stream, int(seq), topic, payloads[position:end]))
                position = end
            if position == len(payloads) and len(rows) == count:
                return sorted(rows)
        except (TypeError, ValueError):
            pass
        return self._db.execute(_READ, (priority, after, limit)).fetchall()

    def _opened(self, priority: int, rows: list[Any]) -> list[StoredMessage]:
        opened = []
        unseal = self._sealer.open
        for message_id, stream, seq, topic, sealed in rows:  # int, str, int, str, bytes
            try:
                payload = unseal(sealed, f"{stream}/{seq}")
            except SealError as error:
                self.dead_letter(message_id, str(error))
                continue
            opened.append(StoredMessage(message_id, priority, topic, payload))
        return opened

    def remove(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        freed = 0
        with self._transaction():
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                chunk = ids[start:start + _IDS_PER_STATEMENT]
                marks = ",".join("?" * len(chunk))
                # A sum and a delete, not DELETE ... RETURNING: one step each instead of one a
                # row (each step lets go of the GIL and waits to take it back: with paho's
                # thread busy, that costs more than the delete).
                freed += int(self._db.execute(
                    "SELECT coalesce(sum(length(payload) + length(topic)), 0) FROM message "
                    f"WHERE id IN ({marks})", chunk).fetchone()[0])
                self._db.execute(f"DELETE FROM message WHERE id IN ({marks})", chunk)
        self._bytes -= freed

    def dead_letter(self, message_id: int, reason: str, now: float | None = None) -> None:
        """Move a message that cannot be delivered aside, with the reason; it is kept sealed,
        for a technician, and never published."""
        with self._transaction():
            row = self._db.execute(
                "DELETE FROM message WHERE id = ? RETURNING id, stream, seq, topic, payload, "
                "created_at", (message_id,)).fetchone()
            if row is None:
                return
            self._db.execute("INSERT INTO dead_letter VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (*row, time.time() if now is None else now, reason))
        self._bytes -= len(row[4]) + len(row[3])
        self.counters.dead_lettered += 1
        log.error("outbox message %d (%s #%d) moved to the dead letters: %s", message_id,
                  row[1], row[2], reason)

    def purge(self, patient: str, classes: Collection[MessageClass]) -> int:
        """Delete the queued messages of these classes of one patient (consent withdrawn);
        return how many."""
        priorities = [PRIORITIES[c] for c in classes]
        marks = ",".join("?" * len(priorities))
        with self._transaction():
            rows = self._db.execute(
                f"DELETE FROM message WHERE patient = ? AND priority IN ({marks}) "
                "RETURNING length(payload) + length(topic)", (patient, *priorities)).fetchall()
        self._bytes -= sum(int(size) for (size,) in rows)
        if rows:
            self.withdrawals += 1
        return len(rows)

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM message").fetchone()[0])

    def depth(self) -> dict[str, int]:
        """Messages waiting, by class."""
        names = {priority: name for name, priority in PRIORITIES.items()}
        return {names[int(p)]: int(n) for p, n in self._db.execute(
            "SELECT priority, count(*) FROM message GROUP BY priority")}

    def oldest_age_s(self, now: float) -> float:
        """How long the oldest waiting message has waited (0 when none waits)."""
        oldest = self._db.execute("SELECT min(created_at) FROM message").fetchone()[0]
        return 0.0 if oldest is None else max(0.0, now - float(oldest))

    def dead_letters(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0])

    def stored_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        self._db.close()

    def _stored_bytes(self) -> int:
        return int(self._db.execute(
            "SELECT coalesce(sum(length(payload) + length(topic)), 0) FROM message"
        ).fetchone()[0])

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    # Salvage

    def _replace_and_salvage(self, reason: str) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.error("outbox %s is unreadable (%s); moved aside to %s, salvaging what it holds",
                  self.path, reason, aside)
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        _create_private(self.path)
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as second:
            raise OutboxError(f"outbox {self.path}: cannot create a database: {second}") from None
        with self._transaction():
            for row in _readable_rows(aside):
                self._salvage(*row)
        log.warning("outbox: salvaged %d messages from %s (%d could not be read); the file "
                    "stays for inspection", self.counters.salvaged, aside,
                    self.counters.unsalvageable)
        return self._db

    def _salvage(self, stream: str, seq: int, topic: str, stored: bytes,
                 created_at: float) -> None:
        """Re-queue one row of the old database: sealed with our key, or an older outbox's
        plain JSON (sealed now); anything else cannot be trusted and is only counted."""
        context = f"{stream}/{seq}"
        try:
            plaintext, sealed = self._sealer.open(stored, context), stored
        except SealError:
            plaintext, sealed = stored, self._sealer.seal(stored, context)
        try:
            payload = json.loads(plaintext)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self.counters.unsalvageable += 1
            return
        self._insert(OutgoingMessage(stream, topic, payload), seq, sealed, created_at)
        self._db.execute("INSERT INTO stream (name, last_seq) VALUES (?, ?) ON CONFLICT(name) "
                         "DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                         (stream, seq))
        self.counters.salvaged += 1


def _readable_rows(path: Path) -> Iterator[tuple[str, int, str, bytes, float]]:
    """Each message row of a damaged outbox that can still be read, one at a time, so that a
    bad page costs only its own rows."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        last = db.execute("SELECT max(id) FROM message").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        return
    try:
        for message_id in range(1, int(last) + 1):
            try:
                row = db.execute("SELECT stream, seq, topic, payload, created_at FROM message "
                                 "WHERE id = ?", (message_id,)).fetchone()
            except sqlite3.DatabaseError:
                continue
            if row is not None:
                yield str(row[0]), int(row[1]), str(row[2]), bytes(row[3]), float(row[4])
    finally:
        db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _create_private(path: Path) -> None:
    """Create the folder (0700) and database file (0600): they hold health data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)
