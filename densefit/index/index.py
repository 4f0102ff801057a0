"""`Index`: open a store by URI, embed with the store's model, add / upsert / delete / search.

    from densefit.index import Index
    idx = Index.open("stores/man", model="default", create=True)
    idx.add(["stat.2"], ["stat - get file status"], [{"section": "2"}])
    idx.search("file status", k=5, filter={"section": "2"})

The model is recorded in the store at the first write; later opens use it when
`model` is None and refuse a different one (ModelMismatchError).
"""

from __future__ import annotations

import numpy as np

from densefit.index.base import Hit, Rows, Store
from densefit.index.config import IndexConfig
from densefit.index.errors import DimensionError, DuplicateIdError, ModelMismatchError, StoreError
from densefit.index.filters import check_filter
from densefit.index.model import check_same_model, model_info
from densefit.inference.select import as_encoder
from densefit.index.registry import open_store


HYBRID_DEPTH = 100  # candidates each side contributes to a fusion

class Index:
    """A store plus the encoder that fills and queries it."""

    def __init__(self, store: Store, model=None) -> None:
        self.store = store
        self._model = model
        self._encoder = None
        self._info = store.info()

    @classmethod
    def open(cls, uri: str, model=None, create: bool = False, config: IndexConfig | None = None) -> "Index":
        """Open the store at `uri`; `model` None uses the recorded one; a different model is refused."""
        store = open_store(str(uri), create=create, config=config)
        try:
            index = cls(store, model)
            if model is not None:
                index._bind_model()
        except BaseException:
            store.close()
            raise
        return index

    # -- model ----------------------------------------------------------------------
    def _bind_model(self) -> None:
        """Load the given model, check it against the store's record, and record it if there is none."""
        encoder = as_encoder(self._model)  # a name goes through the one loader, like serve and eval
        given = self._model if isinstance(self._model, str) else "the given encoder"
        if self._info.get("fingerprint"):
            check_same_model(self._info, encoder, given, self.store.uri)
        else:
            if self._info.get("dimension") not in (None, encoder.dimension):
                raise ModelMismatchError(f"the store at '{self.store.uri}' holds {self._info['dimension']}-"
                                         f"dimensional vectors, but '{given}' gives {encoder.dimension}. "
                                         "Fix: use a model of that width, or a new store")
            info = model_info(self._model, encoder)
            self.store.set_info(info)
            self._info.update(info)
        self._encoder = encoder

    @property
    def encoder(self):
        """The Encoder of the store's model, loaded on first use."""
        if self._encoder is None:
            if self._model is None:
                name = self._info.get("model")
                if not name:
                    raise StoreError(f"the store at '{self.store.uri}' records no model (it was filled with "
                                     "vectors only). Fix: pass model=... (or --model) to embed text")
                self._model = name
            self._bind_model()
        return self._encoder

    @property
    def model_name(self) -> str:
        return self._info.get("model", "")

    @property
    def dimension(self) -> int:
        dim = self._info.get("dimension") or self.store.info().get("dimension")
        if dim is None and self._encoder is not None:
            return self._encoder.dimension
        return int(dim or 0)

    # -- writes ---------------------------------------------------------------------
    def add(self, ids, texts, metadata=None, vectors=None) -> int:
        """Insert new rows; ids already stored (or repeated) raise DuplicateIdError and nothing is written."""
        return self._write(ids, texts, metadata, vectors, replace=False)

    def upsert(self, ids, texts, metadata=None, vectors=None) -> int:
        """Insert or replace rows by id (the last of repeated ids wins)."""
        return self._write(ids, texts, metadata, vectors, replace=True)

    def delete(self, ids: list[str]) -> int:
        """Remove rows by id; returns how many existed."""
        return self.store.delete([str(i) for i in ids])

    def _write(self, ids, texts, metadata, vectors, *, replace: bool) -> int:
        rows = self._rows(ids, texts, metadata, vectors, replace)
        if len(rows) == 0:
            return 0
        return self.store.write(rows, replace=replace)

    def _rows(self, ids, texts, metadata, vectors, replace: bool) -> Rows:
        ids, texts = [str(i) for i in ids], list(texts)
        metadata = [dict(m or {}) for m in metadata] if metadata is not None else [{} for _ in ids]
        if not (len(ids) == len(texts) == len(metadata)):
            raise StoreError(f"ids, texts and metadata differ in length ({len(ids)}, {len(texts)}, {len(metadata)})")
        _check_ids_texts(ids, texts)
        if vectors is not None:
            vectors = self._check_vectors(np.asarray(vectors, dtype=np.float32))
            if len(vectors) != len(ids):
                raise DimensionError(f"{len(vectors)} vectors for {len(ids)} ids; nothing was written")
        ids, texts, metadata, keep = _dedupe(ids, texts, metadata, replace)
        if vectors is None:
            vectors = (self.encoder.encode(texts, kind="document") if texts
                       else np.zeros((0, self.dimension), np.float32))
        elif keep is not None:
            vectors = vectors[keep]
        return Rows(ids, texts, metadata, vectors)

    def _check_vectors(self, vectors: np.ndarray) -> np.ndarray:
        if vectors.ndim != 2:
            raise DimensionError(f"vectors must be a 2-D array (rows x dimension), got shape {vectors.shape}")
        dim = self._info.get("dimension") or self.store.info().get("dimension")
        if dim is not None and vectors.shape[1] != dim:
            raise DimensionError(f"vectors have {vectors.shape[1]} dimensions but the store at '{self.store.uri}' "
                                 f"holds {dim}; nothing was written. Fix: use the model that built the store")
        if not np.all(np.isfinite(vectors)):
            raise DimensionError("vectors contain NaN or infinity; nothing was written")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise DimensionError("a vector is all zeros and has no direction; nothing was written")
        return vectors / norms

    # -- reads ----------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filter: dict | None = None, **mode) -> list[Hit]:
        """Top-k hits for one query, best first. `filter` is equality on metadata fields, all must match:
        {"section": "2"} keeps rows whose metadata["section"] == "2" (types matter: "2" is not 2).
        `mode="dense"|"lexical"|"hybrid"`, `fusion="rrf"|"convex"`, `weight` (convex: the dense share)."""
        return self.search_many([query], k, filter, **mode)[0]

    def search_many(self, queries: list[str], k: int = 10, filter: dict | None = None, *, mode: str = "dense",
                    fusion: str = "rrf", weight: float = 0.5) -> list[list[Hit]]:
        """Top-k hits per query (one encode pass for all); `filter` and the modes as in `search`."""
        check_mode(mode, fusion, weight)
        if mode == "lexical":
            return self.search_lexical(queries, k, filter)
        vectors = self.encoder.encode(list(queries), kind="query")
        if mode == "dense":
            return self.search_vectors(vectors, k, filter)
        return self.search_hybrid(queries, vectors, k, filter, fusion=fusion, weight=weight)

    def search_lexical(self, queries: list[str], k: int = 10, filter: dict | None = None) -> list[list[Hit]]:
        """BM25 top-k per query text (the store's lexical index), best first."""
        if k < 1:
            raise StoreError(f"k must be >= 1, got {k}")
        return self.store.search_lexical(list(queries), k, check_filter(filter))

    def search_hybrid(self, queries: list[str], vectors: np.ndarray, k: int = 10, filter: dict | None = None, *,
                      fusion: str = "rrf", weight: float = 0.5, depth: int = HYBRID_DEPTH) -> list[list[Hit]]:
        """Dense and lexical top-`depth` fused per query (RRF, or convex with `weight` on dense); top-k kept."""
        from densefit.evaluation.fusion import convex, rrf

        check_mode("hybrid", fusion, weight)
        depth = max(depth, k)
        dense = self.search_vectors(vectors, depth, filter)
        lexical = self.search_lexical(queries, depth, filter)
        out = []
        for d_hits, l_hits in zip(dense, lexical):
            known = {h.id: h for h in [*l_hits, *d_hits]}
            d_run, l_run = {"q": {h.id: h.score for h in d_hits}}, {"q": {h.id: h.score for h in l_hits}}
            fused = (rrf([d_run, l_run]) if fusion == "rrf" else convex(d_run, l_run, weight)).get("q", {})
            out.append([Hit(i, float(s), known[i].text, known[i].metadata) for i, s in list(fused.items())[:k]])
        return out

    def search_vectors(self, vectors: np.ndarray, k: int = 10, filter: dict | None = None,
                       exact: bool = False) -> list[list[Hit]]:
        """Top-k per query row (float32, L2-normalised); `exact=True` bypasses the ANN (local store only)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        dim = self.dimension
        if dim and vectors.shape[1] != dim:
            raise DimensionError(f"query vectors have {vectors.shape[1]} dimensions, the store holds {dim}")
        if k < 1:
            raise StoreError(f"k must be >= 1, got {k}")
        filter = check_filter(filter)
        if exact:
            return self.store.search(vectors, k, filter, exact=True)
        return self.store.search(vectors, k, filter)

    def count(self) -> int:
        return self.store.count()

    def existing(self, ids: list[str]) -> set[str]:
        return self.store.existing([str(i) for i in ids])

    def metadata_fields(self) -> set[str] | None:
        """Metadata field names present in the store (None when the backend cannot tell)."""
        return self.store.metadata_fields()

    def describe(self) -> dict:
        return {"uri": self.store.uri, "model": self.model_name, "dimension": self.dimension,
                "count": self.count(), **self.store.describe()}

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_mode(mode: str, fusion: str = "rrf", weight: float = 0.5) -> None:
    """A clear error for an unknown search mode or fusion, or a convex weight outside [0, 1]."""
    from densefit.errors import UnknownNameError
    from densefit.evaluation.fusion import FUSIONS, MODES

    if mode not in MODES:
        raise UnknownNameError("search mode", mode, MODES)
    if fusion not in FUSIONS:
        raise UnknownNameError("fusion", fusion, FUSIONS)
    if not 0.0 <= float(weight) <= 1.0:
        raise StoreError(f"weight must be in [0, 1] (the dense share of a convex fusion), got {weight}")


def _check_ids_texts(ids: list[str], texts: list) -> None:
    for n, (i, t) in enumerate(zip(ids, texts)):
        if not i:
            raise StoreError(f"row {n}: empty id; every row needs a non-empty id")
        if not isinstance(t, str):
            raise StoreError(f"row {n} (id '{i}'): text must be a string, got {type(t).__name__}")


def _dedupe(ids, texts, metadata, replace: bool):
    """Repeated ids: an error for add; for upsert the last occurrence wins. Returns kept rows + their positions."""
    if len(set(ids)) == len(ids):
        return ids, texts, metadata, None
    if not replace:
        seen, dup = set(), []
        for i in ids:
            if i in seen:
                dup.append(i)
            seen.add(i)
        raise DuplicateIdError(sorted(set(dup)), "repeated in this batch")
    last = {i: n for n, i in enumerate(ids)}
    keep = sorted(last.values())
    return [ids[n] for n in keep], [texts[n] for n in keep], [metadata[n] for n in keep], np.array(keep)
