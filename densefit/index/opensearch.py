"""OpenSearch k-NN store through opensearch-py (not run live on the densefit build machines).

    opensearch://host:9200/index   (http)      opensearchs://host:9200/index   (https)

Auth from the environment: DENSEFIT_OPENSEARCH_USER / DENSEFIT_OPENSEARCH_PASSWORD
(basic auth); DENSEFIT_OPENSEARCH_VERIFY_CERTS=0 turns certificate checks off.

The index mapping follows the k-NN plugin's documented API: a `knn_vector` field
with method hnsw, space_type innerproduct, the engine (faiss by default, or lucene)
and the HNSW parameters m and ef_construction; `index.knn: true` in the settings.
Documents are written with the bulk API (`create` for add, so an existing id is a
409 and nothing is silently replaced; `index` for upsert) and refreshed. Search is
a `knn` query with k and an efficient `filter` (bool/term on metadata.*). The
store's record (model, fingerprint, dimension) is the mapping's `_meta`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from urllib.parse import urlparse

import numpy as np

from densefit.errors import require
from densefit.index.base import Hit, Rows, Store
from densefit.index.config import IndexConfig
from densefit.index.errors import DimensionError, DuplicateIdError, StoreError
from densefit.index.filters import check_filter

VECTOR = "vector"


def client_from_uri(uri: str):
    """An OpenSearch client and the index name for opensearch(s)://host:port/index."""
    require("opensearchpy", "an OpenSearch store")
    from opensearchpy import OpenSearch

    u = urlparse(uri)
    name = u.path.strip("/")
    if not name or "/" in name:
        raise StoreError(f"'{uri}' names no index. Fix: opensearch://host:9200/INDEX")
    user, password = os.environ.get("DENSEFIT_OPENSEARCH_USER"), os.environ.get("DENSEFIT_OPENSEARCH_PASSWORD")
    tls = u.scheme == "opensearchs"
    client = OpenSearch(hosts=[{"host": u.hostname, "port": u.port or 9200}], use_ssl=tls,
                        verify_certs=tls and os.environ.get("DENSEFIT_OPENSEARCH_VERIFY_CERTS", "1") != "0",
                        http_auth=(user, password or "") if user else None, timeout=60)
    return client, name


def index_body(dim: int, cfg: IndexConfig, meta: dict) -> dict:
    """Settings and mappings for a k-NN index (the documented knn_vector method definition)."""
    return {
        "settings": {"index": {"knn": True, "number_of_shards": cfg.shards,
                               "knn.algo_param.ef_search": cfg.ef_search}},
        "mappings": {
            "_meta": meta,
            "dynamic_templates": [{"metadata_strings": {"path_match": "metadata.*", "match_mapping_type": "string",
                                                        "mapping": {"type": "keyword"}}}],
            "properties": {
                VECTOR: {"type": "knn_vector", "dimension": dim,
                         "method": {"name": "hnsw", "space_type": "innerproduct", "engine": cfg.engine,
                                    "parameters": {"m": cfg.hnsw_m, "ef_construction": cfg.ef_construction}}},
                "doc_id": {"type": "keyword"},
                "text": {"type": "text"},
                "metadata": {"type": "object"},
            },
        },
    }


def knn_query(vector: np.ndarray, k: int, filter: dict | None, ef_search: int) -> dict:
    """The k-NN search body: knn query on the vector field, with an efficient filter when given."""
    knn: dict = {"vector": [float(x) for x in vector], "k": k, "method_parameters": {"ef_search": max(ef_search, k)}}
    if check_filter(filter):
        knn["filter"] = {"bool": {"filter": [{"term": {f"metadata.{key}": value}} for key, value in filter.items()]}}
    return {"size": k, "_source": {"excludes": [VECTOR]}, "query": {"knn": {VECTOR: knn}}}


def score_to_cosine(score: float) -> float:
    """Undo the innerproduct score transform (dot + 1 when dot >= 0, else 1 / (1 - dot))."""
    return score - 1.0 if score >= 1.0 else 1.0 - 1.0 / score


def _known(kind: str, index: str, uri: str, reason: str) -> StoreError | None:
    """A clear error for a closed or read-only index (the two states a healthy cluster refuses in)."""
    if kind == "index_closed_exception":
        return StoreError(f"the OpenSearch index '{index}' at '{uri}' is closed. "
                          f"Fix: open it (POST /{index}/_open) and run again")
    if kind == "cluster_block_exception":
        return StoreError(f"the OpenSearch index '{index}' at '{uri}' is read-only ({reason}). Fix: free disk "
                          "space on the cluster (a full disk sets the block), then lift it with "
                          f"PUT /{index}/_settings "
                          '{"index.blocks.read_only_allow_delete": null, "index.blocks.write": null}')
    return None


@contextmanager
def explained(index: str, uri: str):
    """Turn the cluster's refusals into errors that name the index and the fix."""
    from opensearchpy.exceptions import ConnectionError, TransportError

    try:
        yield
    except ConnectionError as exc:
        raise StoreError(f"cannot reach OpenSearch at '{uri}' ({exc.error}). Fix: check the host and port, that the "
                         "cluster is up, and the scheme (opensearchs:// for https)") from None
    except TransportError as exc:
        info = exc.info if isinstance(exc.info, dict) else {}
        cause = info.get("error") if isinstance(info.get("error"), dict) else {}
        kind = cause.get("type") or (exc.error if isinstance(exc.error, str) else "")
        raise (_known(kind, index, uri, cause.get("reason", str(exc)))
               or StoreError(f"OpenSearch at '{uri}' answered {exc}")) from None


def refused(index: str, uri: str, errors: list[dict], total: int) -> StoreError:
    """The error for bulk items the cluster refused; a closed or blocked index gets its own fix."""
    cause = next(iter(errors[0].values())).get("error") or {}
    if isinstance(cause, dict) and (known := _known(cause.get("type", ""), index, uri, cause.get("reason", ""))):
        return StoreError(f"{known} ({len(errors)} of {total} documents refused)")
    return StoreError(f"OpenSearch refused {len(errors)} of {total} documents; first: {errors[0]}")


def bulk_actions(index: str, rows: Rows, replace: bool) -> list[dict]:
    op = "index" if replace else "create"
    return [{"_op_type": op, "_index": index, "_id": i,
             "_source": {"doc_id": i, "text": t, "metadata": m, VECTOR: [float(x) for x in v]}}
            for i, t, m, v in zip(rows.ids, rows.texts, rows.metadata, rows.vectors)]


class OpenSearchStore(Store):
    def __init__(self, uri: str, *, create: bool = False, config: IndexConfig | None = None,
                 client=None) -> None:
        self.uri, self.cfg = uri, config or IndexConfig.from_env()
        self.client, self.index = client_from_uri(uri) if client is None else (client, urlparse(uri).path.strip("/"))
        self._meta: dict | None = None
        with explained(self.index, uri):
            present = self.client.indices.exists(index=self.index)
        if not create and not present:
            raise StoreError(f"no OpenSearch index '{self.index}' at '{uri}'. Fix: build it with densefit index "
                             f"--store {uri}")

    def info(self) -> dict:
        if self._meta is None:
            if not self.client.indices.exists(index=self.index):
                self._meta = {}
            else:
                with explained(self.index, self.uri):
                    mapping = self.client.indices.get_mapping(index=self.index)
                self._meta = dict(next(iter(mapping.values()))["mappings"].get("_meta", {}))
        return dict(self._meta)

    def set_info(self, info: dict) -> None:
        meta = {**self.info(), **info}
        if self.client.indices.exists(index=self.index):
            self.client.indices.put_mapping(index=self.index, body={"_meta": meta})
        self._meta = meta

    def _ensure_index(self, dim: int) -> None:
        recorded = self.info().get("dimension")
        if recorded is not None and recorded != dim:
            raise DimensionError(f"vectors have {dim} dimensions but the OpenSearch index '{self.index}' holds "
                                 f"{recorded}; nothing was written")
        if not self.client.indices.exists(index=self.index):
            meta = {**self.info(), "dimension": dim}
            self.client.indices.create(index=self.index, body=index_body(dim, self.cfg, meta))
            self._meta = meta

    def write(self, rows: Rows, *, replace: bool) -> int:
        from opensearchpy import helpers

        if len(rows) == 0:
            return 0
        self._ensure_index(rows.vectors.shape[1])
        if not replace:
            present = self.existing(rows.ids)
            if present:
                raise DuplicateIdError(sorted(present), "in the index")
        with explained(self.index, self.uri):
            ok, errors = helpers.bulk(self.client, bulk_actions(self.index, rows, replace), raise_on_error=False,
                                      refresh=True)
        if errors:
            raise refused(self.index, self.uri, errors, len(rows))
        return ok

    def delete(self, ids: list[str]) -> int:
        from opensearchpy import helpers

        present = self.existing(ids)
        if present:
            with explained(self.index, self.uri):
                _, errors = helpers.bulk(self.client, [{"_op_type": "delete", "_index": self.index, "_id": i}
                                                       for i in sorted(present)], raise_on_error=False, refresh=True)
            if errors:
                raise refused(self.index, self.uri, errors, len(present))
        return len(present)

    def existing(self, ids: list[str]) -> set[str]:
        if not ids or not self.client.indices.exists(index=self.index):
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            with explained(self.index, self.uri):
                resp = self.client.mget(index=self.index, body={"ids": list(ids[start : start + 1000])}, _source=False)
            found.update(d["_id"] for d in resp["docs"] if d.get("found"))
        return found

    def count(self) -> int:
        if not self.client.indices.exists(index=self.index):
            return 0
        with explained(self.index, self.uri):
            return int(self.client.count(index=self.index)["count"])

    def search(self, vectors: np.ndarray, k: int, filter: dict | None) -> list[list[Hit]]:
        out = []
        for vector in vectors:
            with explained(self.index, self.uri):
                resp = self.client.search(index=self.index, body=knn_query(vector, k, filter, self.cfg.ef_search))
            out.append([Hit(h["_id"], score_to_cosine(float(h["_score"])), h["_source"].get("text", ""),
                            h["_source"].get("metadata") or {}) for h in resp["hits"]["hits"]])
        return out

    def metadata_fields(self) -> set[str] | None:
        if not self.client.indices.exists(index=self.index):
            return set()
        with explained(self.index, self.uri):
            mapping = next(iter(self.client.indices.get_mapping(index=self.index).values()))["mappings"]
        properties = mapping.get("properties", {}).get("metadata", {}).get("properties")
        return set(properties) if properties is not None else None

    def describe(self) -> dict:
        return {"backend": "opensearch", "index": self.index, "engine": self.cfg.engine, "space": "innerproduct",
                "hnsw_m": self.cfg.hnsw_m, "ef_construction": self.cfg.ef_construction, "ef_search": self.cfg.ef_search}

    def close(self) -> None:
        self.client.close()
