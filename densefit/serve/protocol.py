"""uvicorn's httptools protocol with two limits that hold before anything else runs (auth included).

- `max_header_bytes`: a request head (request line and headers) larger than this gets 431 and the
  connection is closed. It is counted as bytes arrive, so a client that never finishes its
  headers cannot make the server hold more than the limit plus one read (256 KiB).
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
        self._head_bytes, self._in_head, self._over, self._refused = 0, True, False, False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._over = len(self.connections) > self.max_connections

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        if self._in_head and not self._refused:  # still inside a request head after this read
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._refuse(ServeError("headers_too_large", f"the request head is over {self.max_header_bytes} "
                                        "bytes (max_header_bytes); send shorter headers"))

    def on_message_begin(self) -> None:
        self._in_head = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        if self._over:
            self._refuse(ServeError("unavailable", f"more than {self.max_connections} connections are open "
                                    "(max_connections); retry later", retry_after=1))
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True
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
