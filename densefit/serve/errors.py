"""The one error type of the server, and the one table that maps it to HTTP and to OpenAI's error shape.

Every failure a client can see is a `ServeError(kind, message, param=...)`; `KINDS` gives the
kind's status code, OpenAI error `type` and string `code`, and `error_response` renders
`{"error": {"message", "type", "param", "code"}}` (plus Retry-After for 429, WWW-Authenticate
for 401), so the `openai` client raises its matching exception class.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from densefit.errors import DensefitError

KINDS = {  # kind: (HTTP status, OpenAI error type, code)
    "bad_request": (400, "invalid_request_error", "bad_request"),          # e.g. an empty input list
    "invalid_json": (400, "invalid_request_error", "invalid_json"),        # a body that is not JSON
    "bad_host": (400, "invalid_request_error", "host_not_allowed"),        # Host not in --allowed-hosts
    "unauthorized": (401, "authentication_error", "invalid_api_key"),      # missing or wrong Bearer key
    "not_found": (404, "invalid_request_error", "not_found"),              # e.g. /search without a store
    "model_not_found": (404, "invalid_request_error", "model_not_found"),  # a model name nobody serves
    "method_not_allowed": (405, "invalid_request_error", "method_not_allowed"),
    "too_large": (413, "invalid_request_error", "request_too_large"),      # body over max_body_bytes
    "invalid": (422, "invalid_request_error", "invalid_value"),            # schema errors, limits, bad values
    "overloaded": (429, "rate_limit_error", "rate_limit_exceeded"),        # queue full; see Retry-After
    "headers_too_large": (431, "invalid_request_error", "headers_too_large"),
    "internal": (500, "server_error", "internal_error"),                   # a bug: logged with its traceback
    "unavailable": (503, "server_error", "unavailable"),                   # model not loaded, or a failed pass
}
STATUS = {kind: status for kind, (status, _, _) in KINDS.items()}


def kind_of(exc: DensefitError) -> str:
    """The ServeError kind of a densefit error raised under a request: the first class of its MRO in the
    table, so a busy store is a 503 to retry and bad values are 422s (not all 400s)."""
    from densefit.errors import ConfigError, DataError, JobError, ModelLoadError
    from densefit.index.errors import DimensionError, DuplicateIdError, ModelMismatchError, StoreBusyError, StoreError

    table = {StoreBusyError: "unavailable", DimensionError: "invalid", ModelMismatchError: "invalid",
             DuplicateIdError: "invalid", StoreError: "unavailable", DataError: "invalid", ConfigError: "invalid",
             ModelLoadError: "unavailable", JobError: "internal"}
    return next((table[cls] for cls in type(exc).__mro__ if cls in table), "bad_request")


class ServeError(DensefitError):
    """A client-visible failure; `kind` picks status, type and code from KINDS; `param` names the field."""

    def __init__(self, kind: str, message: str, *, retry_after: int | None = None, param: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown ServeError kind {kind!r}; choose one of {sorted(KINDS)}")
        super().__init__(message)
        self.kind, self.message, self.retry_after, self.param = kind, message, retry_after, param

    @property
    def status(self) -> int:
        return STATUS[self.kind]


def error_body(err: ServeError) -> dict:
    _, kind, code = KINDS[err.kind]
    return {"error": {"message": err.message, "type": kind, "param": err.param, "code": code}}


def error_response(err: ServeError) -> JSONResponse:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    if err.kind == "unauthorized":
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(error_body(err), status_code=err.status, headers=headers)


def _where(e: dict) -> str:
    return ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body"


def from_validation(exc: RequestValidationError) -> ServeError:
    """Schema errors as one 422 naming each field (an unknown field is named too); a body that is not JSON: 400."""
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ServeError("invalid_json", "body is not valid JSON: " + "; ".join(
            str(e.get("ctx", {}).get("error", e.get("msg"))) for e in errors[:1]))
    parts = [f"{_where(e)}: {'unknown field' if e.get('type') == 'extra_forbidden' else e.get('msg', 'invalid')}"
             for e in errors[:5]]
    return ServeError("invalid", "; ".join(parts), param=_where(errors[0]) if errors else None)


def install_handlers(app) -> None:
    """Route ServeError, schema errors and other DensefitErrors through `error_response`."""

    async def on_serve_error(_: Request, exc: ServeError) -> JSONResponse:
        return error_response(exc)

    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(from_validation(exc))

    async def on_densefit(_: Request, exc: DensefitError) -> JSONResponse:
        kind = kind_of(exc)
        return error_response(ServeError(kind, str(exc), retry_after=1 if kind == "unavailable" else None))

    async def on_http(_: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(exc.status_code, "bad_request")
        return error_response(ServeError(kind, str(exc.detail)))

    app.add_exception_handler(ServeError, on_serve_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(DensefitError, on_densefit)
