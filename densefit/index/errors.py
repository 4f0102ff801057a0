"""Errors of the index layer; each says what went wrong and how to fix it."""

from __future__ import annotations

from densefit.errors import ConfigError, DensefitError


class StoreError(DensefitError):
    """A store that cannot be opened or written as asked."""


class NotAStoreError(StoreError):
    """A path that exists but is not a densefit store."""


class DuplicateIdError(StoreError):
    """`add` of ids that are already stored (or repeated in the batch); nothing was written."""

    def __init__(self, ids: list[str], where: str) -> None:
        shown = ", ".join(repr(i) for i in ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        super().__init__(f"id {shown} already {where}; nothing was written. "
                         "Fix: use upsert (densefit index --upsert) to replace rows, or give unique ids")


class DimensionError(StoreError):
    """Vectors whose width differs from the store's; raised before anything is written."""


class ModelMismatchError(StoreError):
    """Searching or adding with a different model than the one that built the store."""


class StoreBusyError(StoreError):
    """Another writer held the store for longer than the wait limit."""


class FilterError(ConfigError):
    """A metadata filter that is not a flat {field: scalar} dict."""
