"""The access audit: who saw which classified data, when, for what purpose (002 §7.3; PIPL
Art. 51, 54).

Every read through the library's views and masked exports that shows a classified field
*unmasked* is one :class:`AccessRecord`: actor, role, instant, purpose, case, process and the
names of the fields shown (never their values). Records are appended to an
:class:`AccessLog` beside the store (a table in the same database for the SQL stores).

Why not events in the case's own history: a read would then be a write, bump the case's
version and make every concurrent command on the case stale; an access log is append-only
like the history, but reads never contend with commands.
"""

from __future__ import annotations

import threading
from typing import Protocol

import attrs
import pendulum

from servicewf._frozen import names_tuple

__all__ = ["AccessLog", "AccessRecord", "MemoryAccessLog"]


@attrs.frozen
class AccessRecord:
    """One read of classified data shown unmasked."""

    at: pendulum.DateTime
    actor_id: str
    role: str
    purpose: str
    case_id: str
    process: str
    fields: tuple[str, ...] = attrs.field(converter=names_tuple)


class AccessLog(Protocol):
    """An append-only log of :class:`AccessRecord`."""

    def append(self, record: AccessRecord) -> None:
        """Add ``record``."""
        ...

    def records(self, *, case_id: str | None = None,
                actor_id: str | None = None) -> list[AccessRecord]:
        """The records, oldest first, optionally of one case or one actor."""
        ...


class MemoryAccessLog:
    """An :class:`AccessLog` in memory."""

    def __init__(self) -> None:
        self._records: list[AccessRecord] = []
        self._lock = threading.Lock()

    def append(self, record: AccessRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, *, case_id: str | None = None,
                actor_id: str | None = None) -> list[AccessRecord]:
        return [r for r in list(self._records)
                if (case_id is None or r.case_id == case_id)
                and (actor_id is None or r.actor_id == actor_id)]
