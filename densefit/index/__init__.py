"""Vector index and search: the embedded default store, Milvus and OpenSearch behind one `Index`.

    from densefit.index import Index, Hit
    idx = Index.open("stores/man", model="default", create=True)
"""

from densefit.index.base import Hit, Rows, Store
from densefit.index.index import Index

__all__ = ["Index", "Hit", "Rows", "Store"]
