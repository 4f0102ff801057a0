"""The one error type of the server, and the one place that maps it to HTTP.

Every failure a client can see is a `ServeError(kind, message)`; `STATUS` turns
the kind into the status code, and `error_response` renders the OpenAI-style
body `{"error": {"message", "type", "code"}}` (plus Retry-After for 429).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from densefit.errors import DensefitError

STATUS = {
    "bad_request": 400,     # e.g. an empty input list
    "unauthorized": 401,    # missing or wrong Bearer key
    "not_found": 404,       # e.g. /search without a store, or an unknown path
    "method_not_allowed": 405,
    "too_large": 413,       # body over max_body_bytes
    "invalid": 422,         # schema errors; too many inputs; an input over a limit with truncation off
    "overloaded": 429,      # queue full; Retry-After says when to come back
    "unavailable": 503,     # model not loaded yet, or a failed forward pass
}


class ServeError(DensefitError):
    """A client-visible failure; `kind` picks the HTTP status from STATUS."""

    def __init__(self, kind: str, message: str, *, retry_after: int | None = None) -> None:
        if kind not in STATUS:
            raise ValueError(f"unknown ServeError kind {kind!r}; choose one of {sorted(STATUS)}")
        super().__init__(message)
        self.kind, self.message, self.retry_after = kind, message, retry_after

    @property
    def status(self) -> int:
        return STATUS[self.kind]


def error_response(err: ServeError) -> JSONResponse:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    if err.kind == "unauthorized":
        headers = {"WWW-Authenticate": "Bearer"}
    body = {"error": {"message": err.message, "type": err.kind, "code": err.status}}
    return JSONResponse(body, status_code=err.status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_handlers(app) -> None:
    """Route ServeError, schema errors and other DensefitErrors through `error_response`."""

    async def on_serve_error(_: Request, exc: ServeError) -> JSONResponse:
        return error_response(exc)

    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(ServeError("invalid", _describe_validation(exc)))

    async def on_densefit(_: Request, exc: DensefitError) -> JSONResponse:
        return error_response(ServeError("bad_request", str(exc)))

    async def on_http(_: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "bad_request")
        return error_response(ServeError(kind, str(exc.detail)))

    app.add_exception_handler(ServeError, on_serve_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DensefitError, on_densefit)
