"""Each limit at the limit (200) and one over it (413 / 422 / 400 / 429), on a real server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.serve.conftest import running, serve_cfg

BODY_LIMIT, MAX_INPUTS, MAX_CHARS, MAX_QUEUE = 1500, 4, 400, 4


@pytest.fixture(scope="module")
def strict(tiny_model):
    cfg = serve_cfg(tiny_model, truncate=False, max_body_bytes=BODY_LIMIT, max_inputs=MAX_INPUTS,
                    max_input_chars=MAX_CHARS)
    with running(cfg) as (base, _):
        yield base


def post(base: str, body: dict | bytes, path: str = "/v1/embeddings") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(base + path, content=content, headers={"Content-Type": "application/json"}, timeout=60)


def padded(body: dict, size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))  # JSON allows trailing whitespace


def message(r: httpx.Response) -> str:
    return r.json()["error"]["message"]


def test_body_bytes(strict):
    assert post(strict, padded({"input": "file"}, BODY_LIMIT)).status_code == 200
    over = post(strict, padded({"input": "file"}, BODY_LIMIT + 1))
    assert over.status_code == 413 and str(BODY_LIMIT) in message(over)


def test_chunked_body_without_length(strict):
    def chunks(size):
        data = padded({"input": "file"}, size)
        yield data[:700]
        yield data[700:]

    ok = httpx.post(strict + "/v1/embeddings", content=chunks(BODY_LIMIT), headers={"Content-Type": "application/json"})
    assert ok.status_code == 200
    over = httpx.post(strict + "/v1/embeddings", content=chunks(BODY_LIMIT + 1),
                      headers={"Content-Type": "application/json"})
    assert over.status_code == 413


def test_number_of_inputs(strict):
    assert post(strict, {"input": ["file"] * MAX_INPUTS}).status_code == 200
    over = post(strict, {"input": ["file"] * (MAX_INPUTS + 1)})
    assert over.status_code == 422
    assert f"{MAX_INPUTS + 1} texts" in message(over) and f"limit is {MAX_INPUTS}" in message(over)


def test_characters_with_truncation_off(strict):
    assert post(strict, {"input": ["a" * MAX_CHARS]}).status_code == 200
    over = post(strict, {"input": ["ok", "a" * (MAX_CHARS + 1)]})
    assert over.status_code == 422
    assert "input[1]" in message(over) and f"{MAX_CHARS + 1} characters" in message(over)


def test_tokens_with_truncation_off(strict):
    # the tiny model's limit is 64 tokens: "file" is one token, plus [CLS] and [SEP]
    at_limit = post(strict, {"input": " ".join(["file"] * 62)})
    assert at_limit.status_code == 200 and at_limit.json()["usage"]["prompt_tokens"] == 64
    over = post(strict, {"input": " ".join(["file"] * 63)})
    assert over.status_code == 422 and "65 tokens" in message(over) and "limit is 64" in message(over)


def test_truncation_on_cuts_instead(tiny_model):
    with running(serve_cfg(tiny_model, max_input_chars=MAX_CHARS)) as (base, _):
        r = post(base, {"input": ["file " * 200]})  # 1000 characters, cut to 400
        assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] == 64


def test_empty_input_list(strict):
    assert post(strict, {"input": ["file"]}).status_code == 200
    empty = post(strict, {"input": []})
    assert empty.status_code == 400 and "empty list" in message(empty)
    assert post(strict, {"input": ["file", ""]}).status_code == 400


def test_search_k_and_schema_errors(strict):
    bad = post(strict, {"input": {"not": "text"}})
    assert bad.status_code == 422 and "input" in message(bad)
    assert post(strict, b"{not json").status_code == 400


def test_queue_full_gets_429_with_retry_after(tiny_model):
    """MAX_QUEUE single-text requests wait in the queue (long batch window): all 200; one more: 429."""
    cfg = serve_cfg(tiny_model, max_queue=MAX_QUEUE, max_wait_ms=6000, max_batch_tokens=1_000_000)
    with running(cfg) as (base, app):
        batcher = app.state.service.batcher
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(post(base, {"input": "file"}).status_code))
                   for _ in range(MAX_QUEUE)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while batcher.depth < MAX_QUEUE and time.monotonic() < deadline:
            time.sleep(0.005)
        assert batcher.depth == MAX_QUEUE
        over = post(base, {"input": "file"})
        assert over.status_code == 429 and over.headers["Retry-After"] == "1"
        assert "queue full" in message(over)
        # shed at the gate, before FastAPI reads the body: even a malformed one gets the 429, not a 422
        for path in ("/search", "/invocations", "/v1/embeddings"):
            shed = post(base, b"{not json", path=path)
            assert shed.status_code == 429 and shed.headers["Retry-After"] == "1", path
        assert httpx.get(base + "/healthz").status_code == 200  # liveness is never shed
        for t in threads:
            t.join()
        assert results == [200] * MAX_QUEUE
        metrics = httpx.get(base + "/metrics").text
        assert 'densefit_requests_total{route="/v1/embeddings",status="429"} 2.0' in metrics
        assert 'densefit_requests_total{route="/search",status="429"} 1.0' in metrics
