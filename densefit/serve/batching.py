"""Dynamic batching: concurrent requests share one forward pass.

Requests wait in a FIFO queue. The worker takes the oldest job and keeps adding
jobs of the same model while the padded token count (texts x longest text) stays
within `max_batch_tokens`, waiting at most `max_wait_ms` after the oldest job
arrived. While the model is busy, the queue fills, so batches grow with load
without any extra waiting. The model runs in ONE worker thread, so the event
loop stays free for I/O. Past `max_queue` waiting texts, `submit` raises a 429.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from densefit.errors import DensefitError
from densefit.serve.errors import ServeError


@dataclass
class Job:
    """One request's texts and their token counts (`lengths`, one per text); `payload` is for the runner."""

    group: str
    texts: Sequence[str]
    lengths: Sequence[int]
    payload: Any = None
    arrived: float = field(default_factory=time.perf_counter)
    future: asyncio.Future | None = None

    @property
    def longest(self) -> int:
        return max(self.lengths, default=0)


@dataclass
class BatchStats:
    texts: int
    padded_tokens: int
    jobs: int


def padded_tokens(jobs: Sequence[Job]) -> int:
    """Cost of one forward pass over these jobs: every text padded to the longest one."""
    return sum(len(j.texts) for j in jobs) * max((j.longest for j in jobs), default=0)


class DynamicBatcher:
    """Queue + one worker thread. `runner(jobs) -> results` (one per job) runs in the thread."""

    def __init__(self, runner: Callable[[list[Job]], list[Any]], *, max_batch_tokens: int, max_wait_ms: float,
                 max_queue: int, retry_after_s: int = 1,
                 on_batch: Callable[[BatchStats], None] | None = None,
                 on_depth: Callable[[int], None] | None = None,
                 on_outcome: Callable[[Exception | None], None] | None = None) -> None:
        self.runner = runner
        self.max_batch_tokens, self.max_wait = max_batch_tokens, max_wait_ms / 1000.0
        self.max_queue, self.retry_after_s = max_queue, retry_after_s
        self.on_batch, self.on_depth, self.on_outcome = on_batch, on_depth, on_outcome
        self._queue: deque[Job] = deque()
        self._depth = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="densefit-model")

    @property
    def depth(self) -> int:
        """Texts waiting for the model (not counting the batch being run)."""
        return self._depth

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="densefit-batcher")

    async def stop(self, last: Callable[[], Any] | None = None) -> None:
        """Stop taking jobs, finish every queued one, run `last` in the model thread, then stop the worker."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if last is not None:
            await self.call_in_worker(last)
        self._executor.shutdown(wait=True)

    def admit(self, n_texts: int, in_flight: int = 0) -> None:
        """Raise the 429 (or 503 when closing) now if `n_texts` more would not be queued.

        `in_flight`: requests already let in but not answered (the HTTP gate's count); each holds at
        least one text, queued or about to be, so the larger of it and the depth is what is waiting."""
        if self._closing:
            raise ServeError("unavailable", "the server is shutting down")
        waiting = max(self._depth, in_flight)
        if waiting and waiting + n_texts > self.max_queue:  # alone, a request larger than the queue still runs
            raise ServeError("overloaded", f"queue full: {waiting} texts waiting or in progress, limit "
                             f"{self.max_queue} (max_queue); retry later", retry_after=self.retry_after_s)

    async def submit(self, group: str, texts: Sequence[str], lengths: Sequence[int], payload: Any = None) -> Any:
        """Queue `texts` (with their token counts) and wait for the runner's result for them."""
        if len(lengths) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(lengths)} token counts")
        self.admit(len(texts))
        job = Job(group, texts, lengths, payload, future=asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._set_depth(self._depth + len(texts))
        self._wake.set()
        return await job.future

    def call_in_worker(self, fn: Callable[[], Any]) -> asyncio.Future:
        """Run `fn` in the model thread (e.g. the warm-up), serialised with the batches."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _set_depth(self, depth: int) -> None:
        self._depth = depth
        if self.on_depth:
            self.on_depth(depth)

    async def _loop(self) -> None:
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
            batch = await self._gather()
            await self._run(batch)

    async def _gather(self) -> list[Job]:
        """Wait until the budget is full or the oldest job's wait is over, then take a batch."""
        deadline = self._queue[0].arrived + self.max_wait
        while not self._closing and not self._budget_full():
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=left)
            except asyncio.TimeoutError:
                break
        return self._take()

    def _budget_full(self) -> bool:
        group = self._queue[0].group
        return padded_tokens([j for j in self._queue if j.group == group]) >= self.max_batch_tokens

    def _take(self) -> list[Job]:
        """The oldest job, plus later jobs of its model while the padded tokens fit the budget."""
        first = self._queue.popleft()
        batch, keep = [first], deque()
        while self._queue:
            job = self._queue.popleft()
            if job.group == first.group and padded_tokens(batch + [job]) <= self.max_batch_tokens:
                batch.append(job)
            else:
                keep.append(job)
                if job.group == first.group:
                    break
        self._queue.extendleft(reversed(keep))
        self._set_depth(self._depth - sum(len(j.texts) for j in batch))
        return batch

    async def _run(self, batch: list[Job]) -> None:
        if self.on_batch:
            self.on_batch(BatchStats(sum(len(j.texts) for j in batch), padded_tokens(batch), len(batch)))
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self.runner, batch)
        except DensefitError as exc:  # a user error (e.g. a bad filter): not a model failure
            self._finish(batch, [exc] * len(batch))
            return
        except Exception as exc:  # a failed forward pass fails this batch only; readiness reports it
            self._report(exc)
            error = ServeError("unavailable", f"the model failed on this batch: {type(exc).__name__}: {exc}")
            self._finish(batch, [error] * len(batch))
            return
        self._report(None)
        self._finish(batch, results)

    @staticmethod
    def _finish(batch: list[Job], results: list[Any]) -> None:
        """Hand each job its result; an exception instance as a result fails that job only."""
        for job, result in zip(batch, results):
            if job.future.done():  # the client went away
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _report(self, exc: Exception | None) -> None:
        if self.on_outcome:
            self.on_outcome(exc)
