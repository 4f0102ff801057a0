"""ServeConfig: every setting of `densefit serve`, each also read from `DENSEFIT_SERVE_<FIELD>`.

Precedence: explicit values (CLI flags, keyword arguments) > environment > defaults.
The API key itself is never a field: `api_key_env` names the variable that holds it,
so the key stays out of configs, reprs and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from densefit.config import _f, from_env
from densefit.errors import ConfigError, UnknownNameError
from densefit.inference.select import BACKENDS

ENV_PREFIX = "DENSEFIT_SERVE_"


@dataclass
class ServeConfig:
    model: str | None = _f(None, "Embedding model: 'default', a run or model folder, or a hub id "
                                 "(default: the model recorded in --store, else 'default').")
    store: str | None = _f(None, "Index URI to search (enables /search and the page's results).")
    model_name: str | None = _f(None, "Name the API reports for the model (default: derived from --model).")
    compare_model: str | None = _f(None, "Second model for the page's compare mode and `model` in requests.")
    compare_name: str | None = _f(None, "Name the API reports for --compare-model (default: derived from it).")
    compare_store: str | None = _f(None, "Index URI embedded with --compare-model (needed for compare search).")
    reranker: str | None = _f(None, "CrossEncoder folder or hub id: /search reorders the bi-encoder's top-N.")
    rerank_top_n: int = _f(50, "Candidates the bi-encoder retrieves for the reranker.")
    host: str = _f("127.0.0.1", "Interface to bind (0.0.0.0 in a container).")
    port: int = _f(8000, "TCP port (SageMaker expects 8080).")
    api_key_env: str | None = _f(None, "Name of the environment variable holding the Bearer key (auth off if unset).")
    precision: str = _f("auto", "auto|fp32|bf16|fp16 for encoding (torch backend).")
    backend: str = _f("auto", "auto|torch|onnx|onnx-int8|openvino|openvino-int8|static; auto uses an export of "
                              "the model (MODEL/exports/ or the user cache) only when its parity check passed and it "
                              "was faster here; static (a distilled model2vec table) only when named.")
    threads: int | None = _f(None, "Threads for the model, torch or exported (default: one per core).")
    max_batch_tokens: int = _f(8192, "Dynamic batching: most padded tokens (texts x longest) in one forward pass.")
    max_wait_ms: float = _f(0.0, "Dynamic batching: longest a request waits for others to join its batch (0: "
                                 "none; batches still form from requests that arrive while the model is busy).")
    max_queue: int = _f(512, "Most texts waiting for the model (requests let in and not yet answered count too); "
                        "beyond it requests get 429 with Retry-After. Lower it to bound the wait under overload.")
    max_body_bytes: int = _f(8_000_000, "Largest request body; larger gets 413 (8 MB: 2,048 texts of ~4,000 "
                                        "characters).")
    max_header_bytes: int = _f(65_536, "Largest request head (request line and headers); larger gets 431, "
                                       "checked before auth as the bytes arrive.")
    max_connections: int = _f(2048, "Most open connections; a connection beyond it gets 503 and is closed.")
    allowed_hosts: str | None = _f(None, "Comma-separated Host header values to accept (e.g. search.example.com,"
                                         "localhost); others get 400. Closes DNS rebinding. Default: any.")
    max_inputs: int = _f(2048, "Most texts in one request; more gets 422 (2048, as OpenAI: clients such as "
                               "LangChain send 1,000 per request).")
    max_input_chars: int = _f(20_000, "Longest text in characters; with truncation off, longer gets 422.")
    max_input_tokens: int | None = _f(None, "Longest text in tokens with truncation off (default: the model's limit).")
    truncate: bool = _f(True, "Cut over-long texts to the limits instead of answering 422.")
    max_k: int = _f(100, "Largest k for /search.")
    retry_after_s: int = _f(1, "Retry-After seconds sent with 429.")
    graceful_timeout_s: float = _f(30.0, "On SIGTERM, how long in-flight requests may take before they are cut.")
    log_level: str = _f("info", "uvicorn log level: critical|error|warning|info|debug.")
    access_log: bool = _f(True, "Log one line per request (method, path, status; never headers).")

    def __post_init__(self) -> None:
        positive = ("rerank_top_n", "max_batch_tokens", "max_queue", "max_body_bytes", "max_inputs",
                    "max_input_chars", "max_k", "port", "max_header_bytes", "max_connections")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}")
        if self.max_wait_ms < 0:
            raise ConfigError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.backend not in BACKENDS:
            raise UnknownNameError("backend", self.backend, BACKENDS)
        if self.compare_store and not self.compare_model:
            raise ConfigError("compare_store needs compare_model (the model that embedded it)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "ServeConfig":
        """Defaults, then DENSEFIT_SERVE_* variables, then `overrides` whose value is not None."""
        return from_env(cls, ENV_PREFIX, environ, **overrides)

    def hosts(self) -> frozenset[str] | None:
        """--allowed-hosts as lower-case names (ports are not compared); None: any Host."""
        if not self.allowed_hosts:
            return None
        return frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())

    def api_key(self) -> str | None:
        """The configured key, read from the named variable at call time (None: auth off)."""
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ConfigError(f"api_key_env names ${self.api_key_env}, but that variable is unset or empty")
        return key


def env_var(name: str) -> str:
    """The environment variable of a field: `max_wait_ms` -> DENSEFIT_SERVE_MAX_WAIT_MS."""
    return ENV_PREFIX + name.upper()
