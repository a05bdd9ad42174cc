"""SQLite outbox in WAL mode.

A message is committed (synchronous=FULL) before anything publishes it, and deleted only after
the broker has acknowledged it, so a crash or power cut at any moment loses nothing: at worst
a message acknowledged but not yet deleted is published again, with the same message id.
"""

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.messages.payloads import OutgoingMessage

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stream (
    name TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
"""


class OutboxError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    topic: str
    payload: bytes


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        if path.parent.exists() and not path.parent.is_dir():
            raise OutboxError(f"cannot create the outbox at {path}: {path.parent} is not a folder")
        try:
            _create_private(path)
        except OSError as error:
            raise OutboxError(f"cannot create the outbox at {path}: {error.strerror}") from None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            self._db = self._replace_corrupt(error)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM message").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _replace_corrupt(self, error: sqlite3.DatabaseError) -> sqlite3.Connection:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        log.error("outbox %s is unreadable (%s); moved aside to %s for salvage, starting a new one",
                  self.path, error, aside)
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            if source.exists():
                source.rename(Path(f"{aside}{suffix}"))
        _create_private(self.path)
        try:
            return self._open()
        except sqlite3.DatabaseError as second:
            raise OutboxError(f"outbox {self.path}: cannot create a database: {second}") from None

    def put(self, messages: Sequence[OutgoingMessage]) -> None:
        """Number each message in its stream and commit them all in one transaction."""
        if not messages:
            return
        now = time.time()
        with self._transaction():
            for message in messages:
                seq = self._next_seq(message.stream)
                payload = json.dumps(message.payload | {"seq": seq}, separators=(",", ":"))
                self._db.execute(
                    "INSERT INTO message (stream, seq, topic, payload, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message.stream, seq, message.topic, payload.encode(), now),
                )

    def _next_seq(self, stream: str) -> int:
        row = self._db.execute(
            "INSERT INTO stream (name, last_seq) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
            (stream,),
        ).fetchone()
        return int(row[0])

    def pending(self, after_id: int, limit: int) -> list[StoredMessage]:
        """Messages not yet acknowledged, oldest first, with ids above `after_id`."""
        rows = self._db.execute(
            "SELECT id, topic, payload FROM message WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [StoredMessage(int(id_), str(topic), bytes(payload)) for id_, topic, payload in rows]

    def get(self, message_id: int) -> StoredMessage | None:
        row = self._db.execute(
            "SELECT id, topic, payload FROM message WHERE id = ?", (message_id,)
        ).fetchone()
        return None if row is None else StoredMessage(int(row[0]), str(row[1]), bytes(row[2]))

    def remove(self, ids: Iterable[int]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM message WHERE id = ?", [(id_,) for id_ in ids])

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM message").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


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
