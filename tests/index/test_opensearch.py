"""OpenSearch backend: the real opensearch-py client talks real HTTP to a local recorder.

The recorder (tests/index/opensearch_recorder.py) keeps every request and answers with the
documented response shapes, searches included (an exact k-NN); the tests check that the bodies densefit sends follow the k-NN plugin's
documented API (knn_vector mapping, bulk NDJSON, knn query with filter). A live cluster
test runs only when DENSEFIT_OPENSEARCH_URL is set.
"""

from __future__ import annotations

import base64
import json
import os
import uuid

import numpy as np
import pytest

from densefit.index import Index
from densefit.index.errors import DuplicateIdError, StoreError
from densefit.index.opensearch import score_to_cosine
from tests.index.opensearch_recorder import running_recorder


@pytest.fixture
def recorder():
    with running_recorder() as server:
        yield server


def unit(n, dim=8, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def requests_to(server, suffix, method=None):
    return [r for r in server.state["requests"] if r["path"].split("?")[0].endswith(suffix)
            and (method is None or r["method"] == method)]


def test_requests_follow_the_documented_knn_api(recorder, monkeypatch):
    monkeypatch.setenv("DENSEFIT_OPENSEARCH_USER", "alice")
    monkeypatch.setenv("DENSEFIT_OPENSEARCH_PASSWORD", "s3cret")
    uri = f"opensearch://127.0.0.1:{recorder.server_address[1]}/docs"
    x = unit(3)
    with Index.open(uri, create=True) as idx:
        idx.add(["a", "b", "c"], ["alpha", "beta", "gamma"], [{"section": "2", "year": 2020}, {}, {}], vectors=x)
        with pytest.raises(DuplicateIdError):
            idx.add(["a"], ["again"], vectors=x[:1])
        hits = idx.search_vectors(x[:1], k=2, filter={"section": "2", "year": 2020})
        idx.upsert(["a"], ["alpha 2"], vectors=x[:1])
        assert idx.delete(["b", "missing"]) == 1
        assert idx.count() == 2

    create = next(r for r in recorder.state["requests"] if r["method"] == "PUT" and r["path"] == "/docs")
    body = json.loads(create["body"])
    assert body["settings"]["index"]["knn"] is True
    vector = body["mappings"]["properties"]["vector"]
    assert vector == {"type": "knn_vector", "dimension": 8,
                      "method": {"name": "hnsw", "space_type": "innerproduct", "engine": "faiss",
                                 "parameters": {"m": 32, "ef_construction": 80}}}
    assert body["mappings"]["_meta"]["dimension"] == 8

    bulk = requests_to(recorder, "/_bulk")
    first = [json.loads(line) for line in bulk[0]["body"].splitlines()]
    assert first[0] == {"create": {"_index": "docs", "_id": "a"}}
    assert first[1]["text"] == "alpha" and first[1]["metadata"] == {"section": "2", "year": 2020}
    assert first[1]["vector"] == pytest.approx(x[0].tolist(), abs=1e-6)
    assert "refresh=true" in bulk[0]["path"]
    assert json.loads(bulk[1]["body"].splitlines()[0]) == {"index": {"_index": "docs", "_id": "a"}}
    assert json.loads(bulk[2]["body"].splitlines()[0]) == {"delete": {"_index": "docs", "_id": "b"}}

    search = json.loads(requests_to(recorder, "/_search")[0]["body"])
    knn = search["query"]["knn"]["vector"]
    assert search["size"] == 2 and knn["k"] == 2 and knn["vector"] == pytest.approx(x[0].tolist(), abs=1e-6)
    assert knn["filter"] == {"bool": {"filter": [{"term": {"metadata.section": "2"}},
                                                 {"term": {"metadata.year": 2020}}]}}
    assert [h.id for h in hits[0]] == ["a"] and hits[0][0].score == pytest.approx(1.0, abs=1e-5)

    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert all(r["auth"] == expected for r in recorder.state["requests"])


def test_innerproduct_score_conversion_round_trips():
    for dot in (0.9, 0.0, -0.5):
        score = dot + 1 if dot >= 0 else 1 / (1 - dot)
        assert score_to_cosine(score) == pytest.approx(dot)


def test_live_cluster_round_trip():
    url = os.environ.get("DENSEFIT_OPENSEARCH_URL")
    if not url:
        pytest.skip("DENSEFIT_OPENSEARCH_URL is not set: no live OpenSearch cluster to test against")
    base = url.rstrip("/").replace("https://", "opensearchs://").replace("http://", "opensearch://")
    uri = f"{base}/densefit-test-{uuid.uuid4().hex[:8]}"
    x = unit(50, dim=16)
    with Index.open(uri, create=True) as idx:
        try:
            idx.add([f"d{i}" for i in range(50)], [f"t{i}" for i in range(50)],
                    [{"section": str(i % 2)} for i in range(50)], vectors=x)
            assert idx.count() == 50
            assert idx.search_vectors(x[:1], k=1)[0][0].id == "d0"
            assert all(h.metadata["section"] == "1" for h in idx.search_vectors(x[:1], k=5, filter={"section": "1"})[0])
        finally:
            idx.store.client.indices.delete(index=idx.store.index)


def test_a_closed_index_is_named_with_the_fix(recorder):
    uri = f"opensearch://127.0.0.1:{recorder.server_address[1]}/docs"
    with Index.open(uri, create=True) as idx:
        idx.add(["a"], ["alpha"], vectors=unit(1))
    recorder.state["closed"] = True
    with Index.open(uri) as idx:
        for call in (idx.count, lambda: idx.search_vectors(unit(1), k=1), lambda: idx.existing(["a"])):
            with pytest.raises(StoreError, match=r"index 'docs' .* is closed\. Fix: open it \(POST /docs/_open\)"):
                call()


def test_a_read_only_index_refuses_writes_with_the_fix_and_keeps_what_it_had(recorder):
    uri = f"opensearch://127.0.0.1:{recorder.server_address[1]}/docs"
    x = unit(2)
    with Index.open(uri, create=True) as idx:
        idx.add(["a"], ["alpha"], vectors=x[:1])
        recorder.state["blocked"] = True
        for write in (lambda: idx.add(["b"], ["beta"], vectors=x[1:]), lambda: idx.upsert(["a"], ["new"], vectors=x[1:])):
            with pytest.raises(StoreError) as err:
                write()
            said = str(err.value)
            assert "index 'docs'" in said and "read-only" in said and "flood-stage" in said
            assert "PUT /docs/_settings" in said and "1 of 1 documents refused" in said
        assert idx.count() == 1 and idx.search_vectors(x[:1], k=1)[0][0].text == "alpha"


def test_an_unreachable_cluster_is_a_clear_error():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match=rf"cannot reach OpenSearch at 'opensearch://127.0.0.1:{port}/docs'.*Fix: "):
        Index.open(f"opensearch://127.0.0.1:{port}/docs")
