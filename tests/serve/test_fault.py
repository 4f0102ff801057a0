"""Readiness: 503 while loading, 503 after a real failed forward pass, 200 again after a good one."""

from __future__ import annotations

import asyncio
import time

import httpx
import torch

from tests.serve.conftest import running, serve_cfg


def test_readiness_is_503_until_the_model_is_loaded(tiny_model):
    """Without the start-up event (no lifespan) the model never loads: not ready, and requests get 503."""
    from densefit.serve import create_app

    async def probe():
        transport = httpx.ASGITransport(app=create_app(serve_cfg(tiny_model)))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get("/healthz"), await client.get("/readyz"),
                    await client.post("/v1/embeddings", json={"input": "x"})]

    live, ready, embed = asyncio.run(probe())
    assert live.status_code == 200
    assert ready.status_code == 503 and ready.json()["status"] == "loading"
    assert embed.status_code == 503 and embed.headers["Retry-After"] == "1"


def test_a_failed_load_stays_unready_with_the_reason(tmp_path, tiny_model):
    with running(serve_cfg(tiny_model, store=str(tmp_path / "no-such-store")), ready=False) as (base, _):
        deadline = time.monotonic() + 120
        while httpx.get(base + "/readyz").json()["status"] == "loading" and time.monotonic() < deadline:
            time.sleep(0.05)
        ready = httpx.get(base + "/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "failed"
        assert "no-such-store" in ready.json()["reason"]
        assert httpx.post(base + "/search", json={"query": "x"}).status_code == 503


def test_readiness_flips_when_the_backend_fails_and_recovers(tiny_model):
    with running(serve_cfg(tiny_model)) as (base, app):
        slot = next(iter(app.state.service.engine.slots.values()))
        emb = slot.encoder.model[0].auto_model.embeddings.word_embeddings
        weight = emb.weight
        emb.weight = torch.nn.Parameter(weight[:10].clone())  # corrupt weights: token ids >= 10 now fail
        try:
            broken = httpx.post(base + "/v1/embeddings", json={"input": "file disk memory"})
            assert broken.status_code == 503 and "IndexError" in broken.json()["error"]["message"]
            ready = httpx.get(base + "/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "failed"
            assert httpx.get(base + "/ping").status_code == 503
            assert httpx.get(base + "/healthz").status_code == 200  # alive, just not ready
            assert "densefit_model_failures_total 1.0" in httpx.get(base + "/metrics").text
        finally:
            emb.weight = weight
        assert httpx.post(base + "/v1/embeddings", json={"input": "file disk memory"}).status_code == 200
        assert httpx.get(base + "/readyz").status_code == 200


def test_the_loaded_heap_is_frozen_out_of_the_collector(tiny_model):
    """After warm-up the long-lived objects are frozen: full GC passes (which stalled the event loop for
    ~200 ms each under load, docs/benchmarks.md) no longer walk them."""
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with running(serve_cfg(tiny_model)):
        assert gc.get_freeze_count() > 10_000  # torch and the model alone are far more objects than this
