"""Settings of the index layer, with help text on every field (the CLI reads its help from here)."""

from __future__ import annotations

from dataclasses import dataclass

from densefit.config import _f, from_env, help_of as _help_of

ENV_PREFIX = "DENSEFIT_INDEX_"


@dataclass
class IndexConfig:
    ann: str = _f("ivf", "ANN structure of the embedded store above exact_below: ivf (IVF-Flat, fast to build) "
                         "or hnsw (faiss HNSW-Flat, slower to build on 2 cores).")
    nlist_factor: float = _f(4.0, "IVF lists = factor x sqrt(rows), fixed when the IVF is (re)trained.")
    nprobe: int = _f(64, "IVF lists scanned per query; more = better recall, slower queries.")
    hnsw_m: int = _f(32, "HNSW graph degree (links per node); more = better recall, more RAM, slower build.")
    ef_construction: int = _f(80, "HNSW candidate list while building; more = better graph, slower build.")
    ef_search: int = _f(128, "HNSW candidate list while searching; more = better recall, slower queries.")
    exact_below: int = _f(20_000, "Collections up to this many rows are searched exactly (brute force), not by ANN.")
    batch_size: int = _f(1024, "Rows per write transaction when indexing a corpus.")
    engine: str = _f("faiss", "OpenSearch k-NN engine: faiss or lucene (the embedded store always uses faiss).")
    shards: int = _f(1, "OpenSearch primary shards / Milvus: unused.")

    @classmethod
    def from_env(cls, **overrides) -> "IndexConfig":
        """Defaults, then DENSEFIT_INDEX_<FIELD> environment variables, then keyword overrides."""
        return from_env(cls, ENV_PREFIX, **overrides)


def help_of(name: str) -> str:
    return _help_of(IndexConfig, name)
