"""One pure-ASGI middleware in front of every route: metrics, Host, auth, load shedding, body size, and a last
resort for bugs.

Order: time the request; check the Host header against --allowed-hosts (400); check the key (401);
shed a queued route while the model's queue is full, counting the requests already let in (429, before
FastAPI routes or parses anything, so a rejection stays cheap under overload);
reject a body over the limit (413), by Content-Length when given, else by
reading at most limit + 1 bytes. An exception nothing else handled becomes a JSON 500 (its traceback
goes to the log) and the connection stays open for the next request.
Errors are rendered by `errors.error_response`, the same as inside the routes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from densefit.serve.auth import KeyCheck, is_public
from densefit.serve.errors import ServeError, error_response
from densefit.serve.metrics import ServeMetrics

LOG = logging.getLogger("densefit.serve")


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
    """`shed(in_flight)` raises the queue-full ServeError (429) when one more queued request would not fit.

    `in_flight` counts the queued routes' requests admitted and not yet answered: being parsed, waiting
    in the model's queue, in the running batch, or being serialised. Under overload the event loop can
    fall behind, and requests that passed this gate but have not reached the queue yet would otherwise
    pile up unseen: the queue's depth alone lets every open connection in.
    """

    def __init__(self, app, *, metrics: ServeMetrics, max_body_bytes: int, key: KeyCheck | None,
                 shed: Callable[[int], None] | None = None, allowed_hosts: frozenset[str] | None = None) -> None:
        self.app, self.metrics, self.limit, self.key, self.shed = app, metrics, max_body_bytes, key, shed
        self.allowed_hosts = allowed_hosts
        self.in_flight = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status, counted, started = time.perf_counter(), [500], False, [False]

        async def send_and_record(message) -> None:
            if message["type"] == "http.response.start":
                status[0], started[0] = message["status"], True
            await send(message)

        try:
            try:
                self._check_host(scope)
                self._check_key_and_load(scope)
                counted = self._queued(scope)
                self.in_flight += counted
                receive = await self._admit_body(scope, receive)
            except ServeError as err:
                await error_response(err)(scope, receive, send_and_record)
                return
            await self.app(scope, receive, send_and_record)
        except Exception:  # a bug: log it, answer JSON, keep the connection (uvicorn would drop it)
            LOG.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if started[0]:
                raise
            await error_response(ServeError("internal", "internal error; the server log has the details"))(
                scope, receive, send_and_record)
        finally:
            self.in_flight -= counted
            self.metrics.observe_request(scope["path"], status[0], time.perf_counter() - start)

    def _check_host(self, scope) -> None:
        if self.allowed_hosts is None:
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name.lower() not in self.allowed_hosts:
            raise ServeError("bad_host", f"Host '{host[:100]}' is not in --allowed-hosts", param="Host")

    def _queued(self, scope) -> bool:
        return scope["method"] == "POST" and scope["path"] in QUEUED_PATHS

    def _check_key_and_load(self, scope) -> None:
        """Raise for a missing key (401), or for a queued route while the queue is full (429)."""
        if self.key is not None and not is_public(scope["path"]):
            self.key.check(scope["headers"])
        if self.shed is not None and self._queued(scope):
            self.shed(self.in_flight)

    async def _admit_body(self, scope, receive):
        """Raise for an oversized body; return the receive callable to use."""
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
