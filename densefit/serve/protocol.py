"""uvicorn's httptools protocol with two limits that hold before anything else runs (auth included).

- `max_header_bytes`: a request head (request line and headers) larger than this gets 431 and the
  connection is closed. It is measured from the parsed URL and headers, and also as reads arrive,
  so a client that never finishes its headers cannot make the server hold more than the limit plus
  a read or two (256 KiB each); a body's bytes never count.
- `max_connections`: a connection beyond this many open ones gets 503 for its first request and
  is closed, so idle or slow clients cannot pile up without bound.

Both answers carry the same OpenAI-style JSON body as every other error (errors.py).
"""

from __future__ import annotations

import json
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from densefit.serve.errors import ServeError, error_body


class GuardedHttpTools(HttpToolsProtocol):
    max_header_bytes = 64 * 1024
    max_connections = 2048

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._state, self._head_bytes, self._parsed, self._over, self._refused = "idle", 0, 0, False, False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._over = len(self.connections) > self.max_connections

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        before = self._state
        super().data_received(data)
        # Count a read toward the head when all of it is head: the head was open before and still is, or
        # the read started a new message after an idle connection. A read that ends a body and starts a
        # head is not counted (so the bound is the limit plus a read or two, never a body's bytes).
        if self._state == "head" and before in ("head", "idle") and not self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse(ServeError("headers_too_large", f"the request head is over {self.max_header_bytes} "
                                        "bytes (max_header_bytes); send shorter headers"))

    def on_message_begin(self) -> None:
        self._state, self._head_bytes, self._parsed = "head", 0, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._parsed_part(len(url))
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_part(len(name) + len(value) + 4)  # ": " and CRLF
        if not self._refused:
            super().on_header(name, value)

    def _parsed_part(self, size: int) -> None:
        """A head that arrives whole in one read is measured from its parsed parts."""
        self._parsed += size
        if self._parsed > self.max_header_bytes and not self._refused:
            self._refuse(ServeError("headers_too_large", f"the request head is over {self.max_header_bytes} "
                                    "bytes (max_header_bytes); send shorter headers"))

    def on_headers_complete(self) -> None:
        self._state = "body"
        if self._refused:
            return
        if self._over:
            self._refuse(ServeError("unavailable", f"more than {self.max_connections} connections are open "
                                    "(max_connections); retry later", retry_after=1))
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._state = "idle"
        if not self._refused:
            super().on_message_complete()

    def _refuse(self, err: ServeError) -> None:
        self._refused = True
        body = json.dumps(error_body(err)).encode()
        head = (f"HTTP/1.1 {err.status} {HTTPStatus(err.status).phrase}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n"
                + (f"retry-after: {err.retry_after}\r\n" if err.retry_after else "") + "\r\n")
        self.transport.write(head.encode() + body)
        self.transport.close()


def guarded_protocol(max_header_bytes: int, max_connections: int) -> type[GuardedHttpTools]:
    """The protocol class with these limits, for uvicorn's `http=`."""
    return type("GuardedHttpTools", (GuardedHttpTools,),
                {"max_header_bytes": max_header_bytes, "max_connections": max_connections})
