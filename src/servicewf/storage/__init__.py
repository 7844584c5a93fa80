"""Storage: the :class:`Store` interface and its backends.

Only the interface and the in-memory store are imported here; durable backends are imported
from their own modules so that the core never depends on them.
"""

from servicewf.storage.base import (
    LogEntry,
    OutboxEntry,
    OutboxMessage,
    Store,
    Timer,
    WriteSet,
)
from servicewf.storage.memory import MemoryStore

__all__ = ["LogEntry", "MemoryStore", "OutboxEntry", "OutboxMessage", "Store", "Timer",
           "WriteSet"]
