"""One pure-ASGI middleware in front of every route: metrics, auth, load shedding and the body-size limit.

Order: time the request; check the key (401); shed a queued route while the
model's queue is full (429, before FastAPI routes or parses anything, so a
rejection stays cheap under overload); reject a body over the limit (413), by
Content-Length when given, else by reading at most limit + 1 bytes.
Errors are rendered by `errors.error_response`, the same as inside the routes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from densefit.serve.auth import KeyCheck, is_public
from densefit.serve.errors import ServeError, error_response
from densefit.serve.metrics import ServeMetrics


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(size: str, limit: int) -> ServeError:
    return ServeError("too_large", f"request body is {size} bytes; the limit is {limit} (max_body_bytes)")


# the routes whose requests wait in the model's queue
QUEUED_PATHS = frozenset({"/search", "/v1/embeddings", "/invocations"})


class Gate:
    """`shed()` raises the queue-full ServeError (429) when one more queued request would not fit."""

    def __init__(self, app, *, metrics: ServeMetrics, max_body_bytes: int, key: KeyCheck | None,
                 shed: Callable[[], None] | None = None) -> None:
        self.app, self.metrics, self.limit, self.key, self.shed = app, metrics, max_body_bytes, key, shed

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_and_record(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            receive = await self._admit(scope, receive)
        except ServeError as err:
            await error_response(err)(scope, receive, send_and_record)
        else:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.observe_request(scope["path"], status[0], time.perf_counter() - start)

    async def _admit(self, scope, receive):
        """Raise for a missing key or an oversized body; return the receive callable to use."""
        if self.key is not None and not is_public(scope["path"]):
            self.key.check(scope["headers"])
        if self.shed is not None and scope["method"] == "POST" and scope["path"] in QUEUED_PATHS:
            self.shed()
        length = _content_length(scope["headers"])
        if length is not None:
            if length > self.limit:
                raise _too_large(str(length), self.limit)
            return receive
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return receive
        return await self._buffered(receive)

    async def _buffered(self, receive):
        """A chunked body: read it (at most limit + 1 bytes), then replay it to the app."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                raise _too_large(f"over {self.limit}", self.limit)
        body, sent = b"".join(chunks), [False]

        async def replay():
            if sent[0]:
                return await receive()
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay
