"""Bearer-key check in constant time. The key is compared, never logged or echoed."""

from __future__ import annotations

import hmac

from densefit.serve.errors import ServeError

# Open without a key: liveness (SageMaker's /ping health check sends no header), metrics, and the page's
# static files (they hold no data; a browser cannot attach a header when it navigates, so the page asks
# for the key and sends it on each call).
PUBLIC_PATHS = frozenset({"/healthz", "/ping", "/metrics", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def bearer_token(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else None
    return None


class KeyCheck:
    """Holds the key as bytes; `check` raises ServeError('unauthorized') without saying why it differs."""

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def __repr__(self) -> str:  # keep the key out of any repr that reaches a log
        return "KeyCheck(<redacted>)"

    def check(self, headers: list[tuple[bytes, bytes]]) -> None:
        token = bearer_token(headers)
        # compare_digest takes time independent of where the bytes differ; a missing token is compared too
        if not hmac.compare_digest(token or b"", self._key) or token is None:
            raise ServeError("unauthorized", "missing or wrong API key: send 'Authorization: Bearer <key>'")
