"""One shape for every name table: a `Registry` of "module:attr" entries imported on first use.

    STORES = Registry("store scheme", {"file": "densefit.index.local:LocalStore", ...})
    STORES.get("file")      # imports densefit.index.local, returns LocalStore
    STORES.names()          # sorted names, for help text and errors
    STORES.get("nope")      # UnknownNameError: unknown store scheme 'nope'; choose one of: ...

An entry may also be the object itself. A heavy dependency of one entry is imported only when that
entry is used, so one missing extra never breaks the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from densefit.errors import UnknownNameError


class Registry(Mapping):
    """name -> "module:attr" (or an object); a read-only mapping whose lookups import lazily."""

    def __init__(self, kind: str, entries: Mapping[str, Any]) -> None:
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check(self, name: str) -> str:
        """`name` when it is registered, else UnknownNameError listing the valid names."""
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, self.names())
        return name

    def __getitem__(self, name: str) -> Any:
        """The entry, imported; an unknown name is UnknownNameError (so `get` raises it too, not a default)."""
        entry = self._entries[self.check(name)]
        if isinstance(entry, str) and ":" in entry:
            module, attr = entry.split(":", 1)
            return getattr(importlib.import_module(module), attr)
        return entry

    def path(self, name: str) -> str:
        """Where an entry lives ("module:attr"), without importing it."""
        entry = self._entries[self.check(name)]
        return entry if isinstance(entry, str) else f"{entry.__module__}:{entry.__qualname__}"

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
