"""OpenSearch backend: the real opensearch-py client talks real HTTP to a local recorder.

The recorder (http.server) keeps every request and answers with the minimal documented
response shapes; the tests check that the bodies densefit sends follow the k-NN plugin's
documented API (knn_vector mapping, bulk NDJSON, knn query with filter). A live cluster
test runs only when DENSEFIT_OPENSEARCH_URL is set.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from densefit.index import Index
from densefit.index.errors import DuplicateIdError
from densefit.index.opensearch import score_to_cosine


class Recorder(BaseHTTPRequestHandler):
    server_version = "recorder"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _body(self):
        size = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(size).decode() if size else ""

    def _reply(self, status: int, payload=None):
        data = json.dumps(payload if payload is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        state = self.server.state
        path = self.path.split("?")[0]
        body = self._body()
        state["requests"].append({"method": self.command, "path": self.path, "body": body,
                                  "auth": self.headers.get("Authorization")})
        name = path.strip("/").split("/")[0]
        if path == "/_bulk":
            return self._bulk(body)
        if path.endswith("/_mget"):
            ids = json.loads(body)["ids"]
            return self._reply(200, {"docs": [{"_id": i, "found": i in state["docs"]} for i in ids]})
        if path.endswith("/_count"):
            return self._reply(200, {"count": len(state["docs"])})
        if path.endswith("/_search"):
            hits = [{"_id": i, "_score": 1.9, "_source": {"text": d["text"], "metadata": d["metadata"]}}
                    for i, d in list(state["docs"].items())[:2]]
            return self._reply(200, {"hits": {"hits": hits}})
        if path.endswith("/_mapping"):
            if self.command == "PUT":
                state["meta"].update(json.loads(body)["_meta"])
                return self._reply(200, {"acknowledged": True})
            return self._reply(200, {name: {"mappings": {"_meta": state["meta"]}}})
        if self.command == "HEAD":
            return self._reply(200 if state["created"] else 404)
        if self.command == "PUT":
            state["created"] = True
            state["meta"] = json.loads(body)["mappings"]["_meta"]
            return self._reply(200, {"acknowledged": True, "index": name})
        return self._reply(404, {"error": "unexpected request"})

    def _bulk(self, body: str):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        items, i = [], 0
        while i < len(lines):
            (op, target), = lines[i].items()
            if op == "delete":
                self.server.state["docs"].pop(target["_id"], None)
                i += 1
            else:
                self.server.state["docs"][target["_id"]] = lines[i + 1]
                i += 2
            items.append({op: {"_id": target["_id"], "status": 201 if op == "create" else 200}})
        return self._reply(200, {"took": 1, "errors": False, "items": items})

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.state = {"requests": [], "docs": {}, "created": False, "meta": {}}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


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
        idx.add(["a", "b", "c"], ["alpha", "beta", "gamma"], [{"section": "2"}, {}, {}], vectors=x)
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
    assert first[1]["text"] == "alpha" and first[1]["metadata"] == {"section": "2"}
    assert first[1]["vector"] == pytest.approx(x[0].tolist(), abs=1e-6)
    assert "refresh=true" in bulk[0]["path"]
    assert json.loads(bulk[1]["body"].splitlines()[0]) == {"index": {"_index": "docs", "_id": "a"}}
    assert json.loads(bulk[2]["body"].splitlines()[0]) == {"delete": {"_index": "docs", "_id": "b"}}

    search = json.loads(requests_to(recorder, "/_search")[0]["body"])
    knn = search["query"]["knn"]["vector"]
    assert search["size"] == 2 and knn["k"] == 2 and knn["vector"] == pytest.approx(x[0].tolist(), abs=1e-6)
    assert knn["filter"] == {"bool": {"filter": [{"term": {"metadata.section": "2"}},
                                                 {"term": {"metadata.year": 2020}}]}}
    assert hits[0][0].id == "a" and hits[0][0].score == pytest.approx(0.9)

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
