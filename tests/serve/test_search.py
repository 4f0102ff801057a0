"""/search and /invocations search against a real store; compare model; cross-encoder reranking."""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import running, serve_cfg


def test_search_returns_the_index_hits(search_server, store_a):
    from densefit.index import Index

    base, _ = search_server
    r = httpx.post(base + "/search", json={"query": "file disk memory", "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "base" and body["k"] == 5 and not body["reranked"]
    with Index.open(store_a) as idx:
        want = idx.search("file disk memory", k=5)
    assert [h["id"] for h in body["hits"]] == [h.id for h in want]
    for got, ref in zip(body["hits"], want):
        assert abs(got["score"] - ref.score) < 1e-4 and got["text"] == ref.text and got["metadata"] == ref.metadata
    assert {"embed_ms", "search_ms"} <= set(body["timings"])


def test_filter_and_k_limit(search_server):
    base, _ = search_server
    hits = httpx.post(base + "/search", json={"query": "signal", "k": 20, "filter": {"section": "2"}}).json()["hits"]
    assert hits and all(h["metadata"]["section"] == "2" for h in hits)
    assert httpx.post(base + "/search", json={"query": "signal", "k": 100}).status_code == 200
    over = httpx.post(base + "/search", json={"query": "signal", "k": 101})
    assert over.status_code == 422 and "max_k" in over.json()["error"]["message"]
    assert httpx.post(base + "/search", json={"query": "", "k": 3}).status_code == 400


@pytest.mark.parametrize("request_mode", [{"mode": "lexical"}, {"mode": "hybrid"},
                                          {"mode": "hybrid", "fusion": "convex", "weight": 0.3}])
def test_lexical_and_hybrid_modes_answer_what_the_index_answers(search_server, store_a, request_mode):
    from densefit.index import Index

    base, _ = search_server
    body = httpx.post(base + "/search", json={"query": "file disk memory", "k": 5, **request_mode}).json()
    assert body["mode"] == request_mode["mode"]
    assert body["timings"]["batch_texts"] == (0 if request_mode["mode"] == "lexical" else 1)  # BM25 embeds nothing
    with Index.open(store_a) as idx:
        want = idx.search("file disk memory", k=5, **request_mode)
    assert [h["id"] for h in body["hits"]] == [h.id for h in want] and want
    assert [h["score"] for h in body["hits"]] == pytest.approx([h.score for h in want], abs=1e-4)
    bad = httpx.post(base + "/search", json={"query": "x", "mode": "semantic"})
    assert bad.status_code == 422 and "mode" in bad.text


def test_compare_model_searches_its_own_store(search_server, store_b):
    from densefit.index import Index

    base, _ = search_server
    info = httpx.get(base + "/info").json()
    assert [m["name"] for m in info["models"]] == ["base", "tuned"] and all(m["search"] for m in info["models"])
    a = httpx.post(base + "/search", json={"query": "lock thread", "k": 5, "model": "base"}).json()
    b = httpx.post(base + "/search", json={"query": "lock thread", "k": 5, "model": "tuned"}).json()
    assert b["model"] == "tuned"
    with Index.open(store_b) as idx:
        assert [h["id"] for h in b["hits"]] == [h.id for h in idx.search("lock thread", k=5)]
    assert [h["score"] for h in a["hits"]] != [h["score"] for h in b["hits"]]


def test_sagemaker_invocations_search(search_server):
    base, _ = search_server
    r = httpx.post(base + "/invocations", json={"query": "process signal", "k": 3})
    assert r.status_code == 200 and len(r.json()["hits"]) == 3


@pytest.fixture(scope="module")
def reranked(tiny_model, tiny_hf_model, store_a):
    with running(serve_cfg(tiny_model, store=store_a, reranker=tiny_hf_model, rerank_top_n=15)) as (base, app):
        yield base, app


def test_reranker_reorders_the_top_n_by_cross_encoder_score(reranked, store_a):
    from sentence_transformers import CrossEncoder

    from densefit.index import Index

    base, app = reranked
    body = httpx.post(base + "/search", json={"query": "file lock", "k": 5}).json()
    assert body["reranked"] and "rerank_ms" in body["timings"]
    with Index.open(store_a) as idx:
        candidates = idx.search("file lock", k=15)
    ce: CrossEncoder = app.state.service.engine.reranker
    scores = ce.predict([("file lock", h.text) for h in candidates])
    best = sorted(zip(scores, candidates), key=lambda p: -p[0])[:5]
    assert [h["id"] for h in body["hits"]] == [h.id for _, h in best]
    assert [round(h["score"], 4) for h in body["hits"]] == [round(float(s), 4) for s, _ in best]
    assert all("retrieval_score" in h for h in body["hits"])
    plain = httpx.post(base + "/search", json={"query": "file lock", "k": 5, "rerank": False}).json()
    assert not plain["reranked"] and [h["id"] for h in plain["hits"]] == [h.id for h in candidates[:5]]
    assert "rerank_ms" not in plain["timings"]


def test_an_openvino_export_serves_the_same_hits(tiny_model, store_a, tmp_path):
    """--backend openvino: the proven export answers /search with the torch model's hits and scores."""
    import shutil

    from densefit.index import Index
    from densefit.inference.export import ExportConfig, export_model

    model = shutil.copytree(tiny_model, tmp_path / "model")  # its exports/ must not reach other tests
    export_model(ExportConfig(model=str(model), format="openvino", out=str(model / "exports" / "openvino"),
                              sample=16, calibration=4))
    with running(serve_cfg(str(model), store=store_a, backend="openvino")) as (base, _):
        info = httpx.get(base + "/info").json()
        body = httpx.post(base + "/search", json={"query": "file disk memory", "k": 5}).json()
    assert info["models"][0]["backend"] == "openvino"
    with Index.open(store_a) as idx:
        want = idx.search("file disk memory", k=5)
    assert [h["id"] for h in body["hits"]] == [h.id for h in want]
    assert max(abs(h["score"] - w.score) for h, w in zip(body["hits"], want)) < 1e-4


def test_concurrent_lexical_and_dense_searches_each_get_their_own_answer(search_server, store_a):
    from concurrent.futures import ThreadPoolExecutor

    from densefit.index import Index

    base, _ = search_server
    asks = [(q, mode) for q in ("file disk memory", "lock thread", "process signal", "socket clock")
            for mode in ("lexical", "dense", "hybrid")]
    with ThreadPoolExecutor(len(asks)) as pool:  # several land in one batch, lexical ones beside embedded ones
        bodies = list(pool.map(lambda a: httpx.post(base + "/search", json={"query": a[0], "k": 5, "mode": a[1]},
                                                    timeout=60).json(), asks))
    with Index.open(store_a) as idx:
        for (q, mode), body in zip(asks, bodies):
            assert [h["id"] for h in body["hits"]] == [h.id for h in idx.search(q, k=5, mode=mode)], (q, mode)
