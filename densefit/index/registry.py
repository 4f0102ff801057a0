"""URI -> store backend. One line per backend; an unknown scheme lists the known ones.

    /path/to/folder              the embedded default (SQLite rows + faiss)
    /path/to/file.db             Milvus Lite (an in-process Milvus, file-backed)
    milvus://host:19530/coll     a Milvus server or cluster
    opensearch://host:9200/idx   an OpenSearch cluster with the k-NN plugin (https: opensearchs://)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from densefit.errors import UnknownNameError
from densefit.index.base import Store
from densefit.index.config import IndexConfig


def _local(uri, create, cfg):
    from densefit.index.local import LocalStore

    return LocalStore(uri, create=create, config=cfg)


def _milvus(uri, create, cfg):
    from densefit.index.milvus import MilvusStore

    return MilvusStore(uri, create=create, config=cfg)


def _opensearch(uri, create, cfg):
    from densefit.index.opensearch import OpenSearchStore

    return OpenSearchStore(uri, create=create, config=cfg)


BACKENDS: dict[str, Callable[[str, bool, IndexConfig], Store]] = {
    "file": _local,
    "milvus": _milvus,
    "milvus-lite": _milvus,
    "opensearch": _opensearch,
    "opensearchs": _opensearch,
}
SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*)://")


def scheme_of(uri: str) -> str:
    m = SCHEME_RE.match(uri)
    if m:
        return m.group(1)
    return "milvus-lite" if uri.endswith(".db") else "file"


def open_store(uri: str, *, create: bool = False, config: IndexConfig | None = None) -> Store:
    """Open (or with create=True, create) the store that `uri` names."""
    scheme = scheme_of(str(uri))
    if scheme not in BACKENDS:
        raise UnknownNameError("store scheme", f"{scheme}://", [f"{s}://" for s in BACKENDS if s != "milvus-lite"]
                               + ["a folder path", "a .db path (Milvus Lite)"])
    uri = str(uri)[len("file://"):] if scheme == "file" and uri.startswith("file://") else str(uri)
    return BACKENDS[scheme](uri, create, config or IndexConfig.from_env())
