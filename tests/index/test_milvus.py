"""The Milvus backend, for real, against Milvus Lite (milvus-lite runs the engine in-process)."""

from __future__ import annotations

import numpy as np
import pytest

from densefit.index import Index
from densefit.index.errors import DimensionError, DuplicateIdError, StoreError
from densefit.index.milvus import milvus_filter, parse_uri

pytest.importorskip("milvus_lite")


def unit(n, dim=16, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_milvus_lite_add_search_filter_upsert_delete_reopen(tmp_path):
    db = str(tmp_path / "m.db")
    with pytest.raises(StoreError, match="no Milvus Lite store"):
        Index.open(db)
    x = unit(200)
    with Index.open(db, create=True) as idx:
        assert idx.add([f"d{i}" for i in range(200)], [f"text {i}" for i in range(200)],
                       [{"section": str(i % 4)} for i in range(200)], vectors=x) == 200
        assert idx.count() == 200
        hits = idx.search_vectors(x[:3], k=2)
        assert [h[0].id for h in hits] == ["d0", "d1", "d2"] and hits[0][0].text == "text 0"
        assert hits[0][0].score == pytest.approx(1.0, abs=1e-4)
        sect = idx.search_vectors(x[:1], k=10, filter={"section": "3"})[0]
        assert len(sect) == 10 and all(h.metadata == {"section": "3"} for h in sect)
        with pytest.raises(DuplicateIdError):
            idx.add(["d5"], ["again"], vectors=x[:1])
        with pytest.raises(DimensionError):
            idx.add(["z"], ["t"], vectors=unit(1, dim=8))
        assert idx.delete(["d0", "nope"]) == 1
        assert idx.upsert(["d1"], ["replaced"], vectors=x[1:2]) == 1
        assert idx.count() == 199
    with Index.open(db) as idx:  # persisted, record included
        assert idx.count() == 199 and idx.dimension == 16
        top = idx.search_vectors(x[:2], k=1)
        assert top[0][0].id != "d0" and top[1][0].text == "replaced"
        assert idx.existing(["d1", "d0"]) == {"d1"}


def test_milvus_uri_and_filter_translation(monkeypatch):
    monkeypatch.setenv("DENSEFIT_MILVUS_TOKEN", "root:secret")
    uri, coll, kwargs = parse_uri("milvus://db.example:19531/docs")
    assert (uri, coll, kwargs) == ("http://db.example:19531", "docs", {"token": "root:secret"})
    assert parse_uri("/tmp/x.db")[1] == "densefit"
    assert milvus_filter({"section": "2", "n": 3, "ok": True}) == \
        'metadata["section"] == "2" and metadata["n"] == 3 and metadata["ok"] == true'

# The cross-process flow (one process writes, new ones read) is tests/index/test_store_contract.py.
