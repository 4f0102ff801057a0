"""The ASGI gate counts the requests it has let in, not only the model's queue."""

from __future__ import annotations

import asyncio

import httpx

from densefit.serve.batching import DynamicBatcher
from densefit.serve.metrics import ServeMetrics
from densefit.serve.middleware import Gate


async def _stalled_app(scope, receive, send, *, release: asyncio.Event, entered: list) -> None:
    """An app that has taken the request but not queued it yet (as when the event loop is behind)."""
    if scope["path"] == "/search":
        entered.append(scope["path"])
        await release.wait()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_requests_let_in_but_not_yet_queued_count_against_the_queue_limit():
    async def body():
        release, entered = asyncio.Event(), []
        batcher = DynamicBatcher(lambda jobs: [], max_batch_tokens=100, max_wait_ms=0, max_queue=2)

        async def app(scope, receive, send):
            await _stalled_app(scope, receive, send, release=release, entered=entered)

        gate = Gate(app, metrics=ServeMetrics(), max_body_bytes=1000, key=None,
                    shed=lambda in_flight: batcher.admit(1, in_flight=in_flight))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://t") as client:
            let_in = [asyncio.create_task(client.post("/search", json={"query": "q"})) for _ in range(2)]
            while len(entered) < 2:
                await asyncio.sleep(0.001)
            assert batcher.depth == 0  # nothing reached the model's queue, yet both hold a place
            # answered at once (a timeout here means it was let in to wait behind the stalled two)
            over = await asyncio.wait_for(client.post("/search", json={"query": "q"}), timeout=30)
            health = await client.get("/healthz")
            release.set()
            done = [r.status_code for r in await asyncio.gather(*let_in)]
            after = await client.post("/search", json={"query": "q"})  # their places were given back
        return over, health.status_code, done, after.status_code, gate.in_flight

    over, health, done, after, left = asyncio.run(body())
    assert over.status_code == 429 and over.headers["Retry-After"] == "1"
    assert "2 texts waiting or in progress, limit 2" in over.json()["error"]["message"]
    assert (health, done, after, left) == (200, [200, 200], 200, 0)
