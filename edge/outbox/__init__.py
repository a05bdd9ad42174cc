"""The durable outbox: every message is on disk before it is published, and stays until acked."""

from edge.outbox.store import Outbox, OutboxError, StoredMessage

__all__ = ["Outbox", "OutboxError", "StoredMessage"]
