"""The HTTP API against a real uvicorn server on a loopback port, with the tiny model."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.serve.conftest import running, serve_cfg

SNAPSHOT = Path(__file__).parent / "openapi_snapshot.json"


@pytest.fixture(scope="module")
def server(tiny_model):
    with running(serve_cfg(tiny_model, model_name="tiny")) as (base, app):
        yield base, app


@pytest.fixture(scope="module")
def reference(tiny_model):
    from densefit.api import load

    return load(tiny_model)


def test_openai_client_gets_the_encoder_embeddings(server, reference):
    import openai

    base, _ = server
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    texts = ["how do I get file status?", "send a signal to a process", "lock a mutex"]
    got = client.embeddings.create(model="tiny", input=texts)  # the client asks for base64 by default
    assert [d.index for d in got.data] == [0, 1, 2]
    want = reference.encode(texts)
    np.testing.assert_allclose(np.array([d.embedding for d in got.data]), want, atol=1e-5)
    assert got.model == "tiny" and got.usage.prompt_tokens == got.usage.total_tokens > len(texts)
    floats = client.embeddings.create(model="tiny", input="lock a mutex", encoding_format="float")
    np.testing.assert_allclose(floats.data[0].embedding, want[2], atol=1e-5)


def test_embeddings_raw_base64_and_dimensions(server, reference):
    base, _ = server
    r = httpx.post(base + "/v1/embeddings", json={"input": "file disk", "encoding_format": "base64"})
    vec = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(vec, reference.encode(["file disk"])[0], atol=1e-5)
    cut = httpx.post(base + "/v1/embeddings", json={"input": ["file disk"], "dimensions": 8}).json()
    emb = np.array(cut["data"][0]["embedding"])
    assert emb.shape == (8,) and abs(np.linalg.norm(emb) - 1) < 1e-5
    too_wide = httpx.post(base + "/v1/embeddings", json={"input": ["x"], "dimensions": 33})
    assert too_wide.status_code == 422 and "33" in too_wide.json()["error"]["message"]


def test_mixed_lengths_run_in_separate_passes_and_keep_their_order(server, reference):
    base, _ = server
    long = " ".join(["process signal mutex file disk"] * 12)
    texts = ["lock", long, "file disk", long + " again", "mutex"]
    r = httpx.post(base + "/v1/embeddings", json={"input": texts, "encoding_format": "float"})
    got = np.array([d["embedding"] for d in r.json()["data"]])
    np.testing.assert_allclose(got, reference.encode(texts), atol=1e-5)


def test_token_id_inputs_are_refused_with_the_fix(server):
    base, _ = server
    r = httpx.post(base + "/v1/embeddings", json={"input": [101, 2054]})
    assert r.status_code == 422 and "check_embedding_ctx_length=False" in r.json()["error"]["message"]


def test_sagemaker_ping_and_invocations(server, reference):
    base, _ = server
    assert httpx.get(base + "/ping").status_code == 200
    r = httpx.post(base + "/invocations", content=json.dumps({"inputs": ["lock a mutex"]}),
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["embeddings"][0], reference.encode(["lock a mutex"])[0], atol=1e-5)
    assert httpx.post(base + "/invocations", json={"nothing": 1}).status_code == 422
    no_store = httpx.post(base + "/invocations", json={"query": "x", "k": 3})
    assert no_store.status_code == 404 and "--store" in no_store.json()["error"]["message"]


def test_health_models_and_docs(server):
    base, _ = server
    assert httpx.get(base + "/healthz").json()["status"] == "ok"
    assert httpx.get(base + "/readyz").json() == {"status": "ready"}
    assert [m["id"] for m in httpx.get(base + "/v1/models").json()["data"]] == ["tiny"]
    assert "swagger" in httpx.get(base + "/docs").text.lower()
    assert httpx.get(base + "/").status_code == 200 and "densefit search" in httpx.get(base + "/").text
    missing = httpx.get(base + "/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.get(base + "/v1/embeddings").status_code == 405


def test_metrics_count_requests_batches_and_queue(server):
    base, _ = server
    for _ in range(3):
        httpx.post(base + "/v1/embeddings", json={"input": ["a b c", "d e"]})
    httpx.post(base + "/v1/embeddings", json={"input": []})
    text = httpx.get(base + "/metrics").text
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    assert samples['densefit_requests_total{route="/v1/embeddings",status="200"}'] >= 3
    assert samples['densefit_requests_total{route="/v1/embeddings",status="400"}'] >= 1
    assert samples['densefit_request_seconds_count{route="/v1/embeddings"}'] >= 4
    assert samples["densefit_batch_texts_count"] >= 3 and samples["densefit_batch_texts_sum"] >= 6
    assert "densefit_batch_padded_tokens_bucket" in text and samples["densefit_queue_depth"] == 0
    assert samples["densefit_ready"] == 1


def test_openapi_schema_matches_snapshot(server):
    """Regenerate after an intended API change: DENSEFIT_UPDATE_SNAPSHOT=1 pytest tests/serve/test_api.py"""
    import os

    _, app = server
    schema = app.openapi()
    schema["info"].pop("version", None)
    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    if os.environ.get("DENSEFIT_UPDATE_SNAPSHOT") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(text)
        pytest.fail(f"wrote {SNAPSHOT}; review it and rerun")
    assert json.loads(SNAPSHOT.read_text()) == json.loads(text), "API schema changed: review, then regenerate"
    paths = schema["paths"]
    assert {"/v1/embeddings", "/search", "/healthz", "/readyz", "/metrics", "/ping", "/invocations"} <= set(paths)


def test_lone_surrogates_get_a_422_naming_the_input_and_the_connection_lives_on(server):
    base, _ = server
    bodies = {"/v1/embeddings": '{"input": ["fine", "\\ud800"]}', "/search": '{"query": "a \\udfff b"}',
              "/invocations": '{"inputs": ["\\ud800"]}'}
    where = {"/v1/embeddings": "input[1]", "/search": "query", "/invocations": "input[0]"}
    with httpx.Client(base_url=base) as client:
        for path, body in bodies.items():
            r = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 422, (path, r.text)
            assert r.json()["error"]["message"].startswith(f"{where[path]} holds a lone surrogate")
        assert client.post("/v1/embeddings", json={"input": "still served"}).status_code == 200
