"""Milvus store through pymilvus: a `.db` path runs Milvus Lite in-process; milvus://host:port/coll a server.

Schema: id VARCHAR primary key, vector FLOAT_VECTOR (IP metric, HNSW), text VARCHAR,
metadata JSON. The store's own record (model, fingerprint, dimension) lives in a
small side collection `<collection>_densefit_meta`. Milvus does not enforce unique
primary keys on insert, so `add` checks the ids first (one query) and refuses
duplicates; `upsert` uses Milvus' upsert.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from densefit.errors import require
from densefit.index.base import Hit, Rows, Store
from densefit.index.config import IndexConfig
from densefit.index.errors import DimensionError, DuplicateIdError, StoreError
from densefit.index.filters import check_filter

DEFAULT_COLLECTION = "densefit"
MAX_TEXT = 65535
META_SUFFIX = "_densefit_meta"


def milvus_filter(filter: dict | None) -> str:
    """{"section": "2", "n": 3} -> 'metadata["section"] == "2" and metadata["n"] == 3'."""
    if not check_filter(filter):
        return ""
    return " and ".join(f'metadata["{k}"] == {json.dumps(v)}' for k, v in filter.items())


def parse_uri(uri: str) -> tuple[str, str, dict]:
    """(client uri, collection, client kwargs) for a .db path or milvus://host:port/collection."""
    if not uri.startswith("milvus://"):
        return str(Path(uri).expanduser()), DEFAULT_COLLECTION, {}
    u = urlparse(uri)
    collection = u.path.strip("/") or DEFAULT_COLLECTION
    kwargs = {}
    token = os.environ.get("DENSEFIT_MILVUS_TOKEN")
    user, password = os.environ.get("DENSEFIT_MILVUS_USER"), os.environ.get("DENSEFIT_MILVUS_PASSWORD")
    if token:
        kwargs["token"] = token
    elif user:
        kwargs["token"] = f"{user}:{password or ''}"
    scheme = "https" if os.environ.get("DENSEFIT_MILVUS_TLS") == "1" else "http"
    return f"{scheme}://{u.hostname}:{u.port or 19530}", collection, kwargs


class MilvusStore(Store):
    def __init__(self, uri: str, *, create: bool = False, config: IndexConfig | None = None) -> None:
        require("pymilvus", "a Milvus store")
        if not uri.startswith("milvus://"):
            require("milvus_lite", f"the Milvus Lite store '{uri}' (a .db path)")
        from pymilvus import MilvusClient

        self.uri, self.cfg = uri, config or IndexConfig.from_env()
        client_uri, self.collection, kwargs = parse_uri(uri)
        if not uri.startswith("milvus://") and not Path(client_uri).exists() and not create:
            raise StoreError(f"no Milvus Lite store at '{uri}'. Fix: build one with densefit index --store {uri}")
        self.client = MilvusClient(client_uri, **kwargs)
        self.meta = self.collection + META_SUFFIX
        if not self.client.has_collection(self.meta):
            if not create:
                raise StoreError(f"no densefit collection '{self.collection}' at '{uri}'. Fix: build it with "
                                 f"densefit index --store {uri}")
            self._create_meta()
        self._load(self.meta)
        if self.client.has_collection(self.collection):
            self._load(self.collection)

    def _load(self, name: str) -> None:
        """A collection written by another process is 'released' until loaded: load it before any read."""
        self.client.load_collection(name)

    # -- the record -----------------------------------------------------------------
    def _create_meta(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("value", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)
        params = self.client.prepare_index_params()
        params.add_index(field_name="dummy", index_type="FLAT", metric_type="L2")
        self.client.create_collection(self.meta, schema=schema, index_params=params)

    def info(self) -> dict:
        rows = self.client.query(self.meta, filter='key != ""', output_fields=["key", "value"])
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def set_info(self, info: dict) -> None:
        self.client.upsert(self.meta, [{"key": k, "value": json.dumps(v), "dummy": [0.0, 0.0]}
                                       for k, v in info.items()])

    def _ensure_collection(self, dim: int) -> None:
        recorded = self.info().get("dimension")
        if recorded is not None and recorded != dim:
            raise DimensionError(f"vectors have {dim} dimensions but the Milvus collection '{self.collection}' "
                                 f"holds {recorded}; nothing was written")
        if self.client.has_collection(self.collection):
            return
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
        schema.add_field("metadata", DataType.JSON)
        params = self.client.prepare_index_params()
        params.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                         params={"M": self.cfg.hnsw_m, "efConstruction": self.cfg.ef_construction})
        self.client.create_collection(self.collection, schema=schema, index_params=params)
        self._load(self.collection)
        self.set_info({"dimension": dim})

    # -- writes and reads -----------------------------------------------------------------
    def write(self, rows: Rows, *, replace: bool) -> int:
        if len(rows) == 0:
            return 0
        self._ensure_collection(rows.vectors.shape[1])
        too_long = [i for i, t in zip(rows.ids, rows.texts) if len(t.encode("utf-8")) > MAX_TEXT]
        if too_long:
            raise StoreError(f"text of id '{too_long[0]}' is over {MAX_TEXT} bytes, Milvus' VARCHAR limit")
        data = [{"id": i, "vector": v.tolist(), "text": t, "metadata": m}
                for i, t, m, v in zip(rows.ids, rows.texts, rows.metadata, rows.vectors)]
        if replace:
            self.client.upsert(self.collection, data)
        else:
            present = self.existing(rows.ids)
            if present:
                raise DuplicateIdError(sorted(present), "in the collection")
            self.client.insert(self.collection, data)
        return len(rows)

    def delete(self, ids: list[str]) -> int:
        present = self.existing(ids)
        if present:
            self.client.delete(self.collection, ids=sorted(present))
        return len(present)

    def existing(self, ids: list[str]) -> set[str]:
        if not ids or not self.client.has_collection(self.collection):
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = list(ids[start : start + 1000])
            found.update(r["id"] for r in self.client.query(self.collection, ids=chunk, output_fields=["id"]))
        return found

    def count(self) -> int:
        if not self.client.has_collection(self.collection):
            return 0
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def search(self, vectors: np.ndarray, k: int, filter: dict | None) -> list[list[Hit]]:
        if not self.client.has_collection(self.collection):
            return [[] for _ in range(len(vectors))]
        result = self.client.search(self.collection, [v.tolist() for v in vectors], limit=k,
                                    filter=milvus_filter(filter), output_fields=["text", "metadata"],
                                    search_params={"metric_type": "IP", "params": {"ef": max(self.cfg.ef_search, k)}})
        return [[Hit(str(r["id"]), float(r["distance"]), r["entity"]["text"], r["entity"]["metadata"] or {})
                 for r in hits] for hits in result]

    def describe(self) -> dict:
        return {"backend": "milvus", "collection": self.collection, "index": "HNSW", "metric": "IP",
                "hnsw_m": self.cfg.hnsw_m, "ef_construction": self.cfg.ef_construction, "ef_search": self.cfg.ef_search}

    def close(self) -> None:
        self.client.close()
