"""The durable outbox: SQLite in WAL mode, payloads sealed with AES-GCM, drained by priority.

A message is committed (synchronous=FULL) before anything publishes it, and deleted only after
the broker has acknowledged it, so a crash or power cut at any moment loses nothing: at worst
a message acknowledged but not yet deleted is published again, with the same message id.

Alerts go before events, events before summaries, summaries before diagnostics; within a class,
oldest first, so each stream stays in order. Over the disk budget, the lowest class and oldest
message goes first: an alert only when nothing else is left. Each class expires after its own
time. A database that cannot be read is moved aside and what can be read of it is salvaged.
"""

import json
import logging
import os
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
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
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_SET_LAST_SEQ = ("INSERT INTO stream (name, last_seq) VALUES (?, ?) "
                 "ON CONFLICT(name) DO UPDATE SET last_seq = excluded.last_seq")
_EVICTION_BATCH = 200
_IDS_PER_STATEMENT = 500


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
        rows = []
        numbers: dict[str, int] = {}
        for message in messages:
            seq = numbers[message.stream] = numbers.get(
                message.stream, self._last_seq(message.stream)) + 1
            payload = _ENCODE(message.numbered(seq)).encode()
            rows.append(self._row(message, seq, self._sealer.seal(
                payload, f"{message.stream}/{seq}"), now))
        try:
            with self._transaction():
                first = self._next_id()
                self._db.executemany(_INSERT, rows)
                self._db.executemany(_SET_LAST_SEQ, numbers.items())
        except BaseException:
            self._seqs.clear()  # what the database holds is the truth again
            raise
        self._seqs.update(numbers)
        self._bytes += sum(len(row[5]) + len(row[4]) for row in rows)
        self._keep_within_budget()
        if now - self._last_expiry >= _EXPIRY_CHECK_S:
            self.expire(now)
        return list(range(first, first + len(rows)))

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
        self._bytes -= int(freed[1])

    # Reading and settling

    def next_batch(self, limit: int, exclude: Collection[int] = (),
                   after: Mapping[int, int] | None = None) -> list[StoredMessage]:
        """Up to `limit` messages to publish, highest priority and oldest first, leaving out
        the ids in `exclude` (in flight, or waiting to be retried) and, per priority, ids up to
        `after[priority]` (what the caller has taken already). A payload that does not open is
        moved to the dead letters."""
        batch: list[StoredMessage] = []
        for priority in sorted(PRIORITIES.values()):
            last = (after or {}).get(priority, 0)
            while len(batch) < limit:
                rows = self._db.execute(
                    "SELECT id, stream, seq, topic, payload FROM message "
                    "WHERE priority = ? AND id > ? ORDER BY id LIMIT ?",
                    (priority, last, limit - len(batch))).fetchall()
                if not rows:
                    break
                last = int(rows[-1][0])
                batch += self._opened(priority, [row for row in rows if row[0] not in exclude])
        return batch

    def _opened(self, priority: int, rows: list[Any]) -> list[StoredMessage]:
        opened = []
        for message_id, stream, seq, topic, sealed in rows:
            try:
                payload = self._sealer.open(bytes(sealed), f"{stream}/{seq}")
            except SealError as error:
                self.dead_letter(int(message_id), str(error))
                continue
            opened.append(StoredMessage(int(message_id), priority, str(topic), payload))
        return opened

    def remove(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        freed = 0
        with self._transaction():
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                chunk = ids[start:start + _IDS_PER_STATEMENT]
                freed += sum(int(size) for (size,) in self._db.execute(
                    f"DELETE FROM message WHERE id IN ({','.join('?' * len(chunk))}) "
                    "RETURNING length(payload) + length(topic)", chunk))
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
