"""The store contract every backend implements, and the types that cross it.

A store keeps rows of (id, text, metadata, vector) and answers nearest-neighbour
queries over L2-normalised float32 vectors (inner product = cosine). The `Index`
facade (densefit/index/index.py) does the embedding and the checks; a store only
stores and searches. One file per backend, one line in registry.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Hit:
    """One search result: the document id, its cosine score, its text and its metadata."""

    id: str
    score: float
    text: str
    metadata: dict = field(default_factory=dict)


@dataclass
class Rows:
    """A batch to write: ids, texts, metadata dicts and one L2-normalised float32 vector per row."""

    ids: list[str]
    texts: list[str]
    metadata: list[dict]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class Store(ABC):
    """Persistent rows plus a nearest-neighbour search over their vectors.

    `info`/`set_info` hold what the store records about itself (model name, model
    fingerprint, dimension), as a JSON-able dict. `write` is all-or-nothing: a batch
    lands completely or not at all.
    """

    uri: str = ""

    @abstractmethod
    def info(self) -> dict:
        """What the store recorded about itself ({} for a new, empty store)."""

    @abstractmethod
    def set_info(self, info: dict) -> None:
        """Record model name, fingerprint and dimension (merged into what is there)."""

    @abstractmethod
    def write(self, rows: Rows, *, replace: bool) -> int:
        """Insert rows; `replace=False` refuses ids already present (DuplicateIdError, nothing written)."""

    @abstractmethod
    def delete(self, ids: list[str]) -> int:
        """Remove rows by id; returns how many existed."""

    @abstractmethod
    def search(self, vectors: np.ndarray, k: int, filter: dict | None) -> list[list[Hit]]:
        """Top-k hits per query row, best first; `filter` is equality on metadata fields."""

    @abstractmethod
    def count(self) -> int:
        """Number of rows stored."""

    @abstractmethod
    def existing(self, ids: list[str]) -> set[str]:
        """The subset of `ids` already stored (used to resume and to refuse duplicate adds)."""

    def close(self) -> None:
        """Release files, connections and locks."""

    def flush(self) -> None:
        """Persist derived state (e.g. an ANN index cache); durable rows need no flush."""

    def search_lexical(self, queries: list[str], k: int, filter: dict | None) -> list[list[Hit]]:
        """BM25 top-k per query text, best first (higher score is better), for lexical and hybrid search."""
        from densefit.index.errors import StoreError

        raise StoreError(f"the {type(self).__name__} backend has no lexical index in densefit, so mode 'lexical' "
                         "and 'hybrid' are not available on it. Fix: search with mode dense, or index the corpus "
                         "into the embedded store (a folder path), which keeps a BM25 index beside the vectors")

    def metadata_fields(self) -> set[str] | None:
        """The metadata field names some stored row has (None: this engine cannot tell cheaply)."""
        return None

    def describe(self) -> dict:
        """Engine and search settings, for reports (eval prints them)."""
        return {"backend": type(self).__name__}
