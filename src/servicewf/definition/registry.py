"""A registry of definitions by name and version."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from servicewf.definition.process import ProcessDefinition
from servicewf.errors import UnknownProcess

__all__ = ["Registry"]


class Registry:
    """Definitions by ``(name, version)``; ``latest(name)`` is the highest version.

    Cases record the version they run under, so several versions of one process can be
    registered at once while old cases finish or are migrated.
    """

    def __init__(self, definitions: Iterable[ProcessDefinition] = ()) -> None:
        self._by_key: dict[tuple[str, int], ProcessDefinition] = {}
        self._latest: dict[str, ProcessDefinition] = {}
        for d in definitions:
            self.add(d)

    def add(self, definition: ProcessDefinition) -> None:
        """Register ``definition``; registering a different one under a taken key fails."""
        existing = self._by_key.get(definition.key)
        if existing is not None and existing is not definition:
            raise ValueError(
                f"{definition.name} v{definition.version} is registered already; "
                "derive a new version instead of replacing it"
            )
        self._by_key[definition.key] = definition
        current = self._latest.get(definition.name)
        if current is None or current.version < definition.version:
            self._latest[definition.name] = definition

    def get(self, name: str, version: int | None = None) -> ProcessDefinition:
        """The definition ``name`` at ``version`` (the latest when ``None``)."""
        found = self._latest.get(name) if version is None else self._by_key.get((name, version))
        if found is None:
            known = ", ".join(f"{n} v{v}" for n, v in sorted(self._by_key)) or "none"
            what = name if version is None else f"{name} v{version}"
            raise UnknownProcess(f"process {what} is not registered (registered: {known})")
        return found

    def latest(self, name: str) -> ProcessDefinition:
        """The highest registered version of ``name``."""
        return self.get(name)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            return key in self._latest
        return key in self._by_key

    def __iter__(self) -> Iterator[ProcessDefinition]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)
