"""URI -> store backend. One line per backend; an unknown scheme lists the known ones.

    /path/to/folder              the embedded default (SQLite rows + faiss)
    /path/to/file.db             Milvus Lite (an in-process Milvus, file-backed)
    milvus://host:19530/coll     a Milvus server or cluster
    opensearch://host:9200/idx   an OpenSearch cluster with the k-NN plugin (https: opensearchs://)
"""

from __future__ import annotations

import re

from densefit.errors import UnknownNameError
from densefit.index.base import Store
from densefit.index.config import IndexConfig
from densefit.registry import Registry

STORES = Registry("store scheme", {  # scheme -> Store class, built as cls(uri, create=..., config=...)
    "file": "densefit.index.local:LocalStore",
    "milvus": "densefit.index.milvus:MilvusStore",
    "milvus-lite": "densefit.index.milvus:MilvusStore",
    "opensearch": "densefit.index.opensearch:OpenSearchStore",
    "opensearchs": "densefit.index.opensearch:OpenSearchStore",
})
SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*)://")


def scheme_of(uri: str) -> str:
    m = SCHEME_RE.match(uri)
    if m:
        return m.group(1)
    return "milvus-lite" if uri.endswith(".db") else "file"


def open_store(uri: str, *, create: bool = False, config: IndexConfig | None = None) -> Store:
    """Open (or with create=True, create) the store that `uri` names."""
    scheme = scheme_of(str(uri))
    if scheme not in STORES:
        raise UnknownNameError("store scheme", f"{scheme}://", [f"{s}://" for s in STORES if s != "milvus-lite"]
                               + ["a folder path", "a .db path (Milvus Lite)"])
    uri = str(uri)[len("file://"):] if scheme == "file" and uri.startswith("file://") else str(uri)
    return STORES.get(scheme)(uri, create=create, config=config or IndexConfig.from_env())
