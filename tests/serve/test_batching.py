"""The dynamic batcher on its own: merging, the token budget, the queue limit, failures, draining."""

from __future__ import annotations

import asyncio

import pytest

from densefit.errors import DensefitError
from densefit.serve.batching import DynamicBatcher, padded_tokens, Job
from densefit.serve.errors import ServeError


class Recorder:
    """A runner that answers each text with its length and records the batches it was given."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.batches: list[list[list[str]]] = []
        self.fail_with = fail_with

    def __call__(self, jobs):
        self.batches.append([list(j.texts) for j in jobs])
        if self.fail_with is not None:
            raise self.fail_with
        return [[len(t) for t in j.texts] for j in jobs]


def run(coro):
    return asyncio.run(coro)


async def with_batcher(runner, body, **kw):
    opts = dict(max_batch_tokens=10_000, max_wait_ms=50, max_queue=100)
    opts.update(kw)
    batcher = DynamicBatcher(runner, **opts)
    await batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_forward_pass():
    rec = Recorder()

    async def body(b):
        return await asyncio.gather(*(b.submit("m", [f"text {i}" * (i + 1)], [4]) for i in range(8)))

    results = run(with_batcher(rec, body))
    assert results == [[len(f"text {i}" * (i + 1))] for i in range(8)]  # each answer goes to its request
    assert len(rec.batches) == 1 and len(rec.batches[0]) == 8


def test_token_budget_splits_batches_in_order():
    rec = Recorder()

    async def body(b):
        return await asyncio.gather(*(b.submit("m", ["a", "b"], [10] * 2) for _ in range(5)))

    run(with_batcher(rec, body, max_batch_tokens=40))  # 2 texts x 10 tokens = 20 per request: 2 per batch
    assert [len(batch) for batch in rec.batches] == [2, 2, 1]


def test_models_are_never_mixed_in_a_batch():
    rec = Recorder()

    async def body(b):
        return await asyncio.gather(b.submit("a", ["x"], [1]), b.submit("b", ["yy"], [1]), b.submit("a", ["z"], [1]))

    assert run(with_batcher(rec, body)) == [[1], [2], [1]]
    assert rec.batches == [[["x"], ["z"]], [["yy"]]]


def test_queue_limit_raises_overloaded_with_retry_after():
    rec = Recorder()

    async def body(b):
        first = asyncio.ensure_future(b.submit("m", ["a", "b", "c"], [1] * 3))
        await asyncio.sleep(0)  # queued, waiting for the batch window
        assert b.depth == 3
        with pytest.raises(ServeError) as err:
            await b.submit("m", ["d", "e"], [1] * 2)
        accepted = await b.submit("m", ["d"], [1])  # exactly at the limit
        return err.value, await first, accepted

    err, first, accepted = run(with_batcher(rec, body, max_queue=4, max_wait_ms=200))
    assert err.status == 429 and err.retry_after == 1 and "limit 4" in err.message
    assert first == [1, 1, 1] and accepted == [1]


def test_model_failure_fails_the_batch_with_503_and_is_reported():
    seen = []
    rec = Recorder(fail_with=RuntimeError("CUDA out of memory"))

    async def body(b):
        return await asyncio.gather(b.submit("m", ["a"], [1]), b.submit("m", ["b"], [1]), return_exceptions=True)

    results = run(with_batcher(rec, body, on_outcome=seen.append))
    assert all(isinstance(r, ServeError) and r.status == 503 and "out of memory" in r.message for r in results)
    assert len(seen) == 1 and isinstance(seen[0], RuntimeError)


def test_user_errors_from_the_runner_are_not_model_failures():
    seen = []
    rec = Recorder(fail_with=DensefitError("bad filter field"))

    async def body(b):
        return await asyncio.gather(b.submit("m", ["a"], [1]), return_exceptions=True)

    [result] = run(with_batcher(rec, body, on_outcome=seen.append))
    assert isinstance(result, DensefitError) and seen == []


def test_stop_finishes_queued_jobs_and_then_refuses():
    rec = Recorder()

    async def main():
        b = DynamicBatcher(rec, max_batch_tokens=10_000, max_wait_ms=60_000, max_queue=100)
        await b.start()
        pending = [asyncio.ensure_future(b.submit("m", ["abc"], [1])) for _ in range(3)]
        await asyncio.sleep(0)
        await b.stop()  # must not wait out the 60 s window
        with pytest.raises(ServeError) as err:
            await b.submit("m", ["late"], [1])
        return [p.result() for p in pending], err.value.status

    results, status = run(main())
    assert results == [[3]] * 3 and status == 503


def test_padded_tokens_is_texts_times_longest():
    assert padded_tokens([Job("m", ["a", "b"], [5, 3]), Job("m", ["c"], [9])]) == 27
