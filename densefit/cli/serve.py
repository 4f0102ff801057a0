"""`densefit serve`: the HTTP API and search page. Every option also reads DENSEFIT_SERVE_<NAME>."""

from __future__ import annotations

from typing import Optional

import typer

from densefit.config import help_of
from densefit.serve.config import ServeConfig, env_var


def _o(name: str, *flags: str):
    return typer.Option(None, *flags, help=f"{help_of(ServeConfig, name)} [env {env_var(name)}]", show_default=False)


def serve(
    model: Optional[str] = _o("model", "--model"),
    store: Optional[str] = _o("store", "--store"),
    host: Optional[str] = _o("host", "--host"),
    port: Optional[int] = _o("port", "--port"),
    api_key_env: Optional[str] = _o("api_key_env", "--api-key-env"),
    model_name: Optional[str] = _o("model_name", "--model-name"),
    compare_model: Optional[str] = _o("compare_model", "--compare-model"),
    compare_name: Optional[str] = _o("compare_name", "--compare-name"),
    compare_store: Optional[str] = _o("compare_store", "--compare-store"),
    reranker: Optional[str] = _o("reranker", "--reranker"),
    rerank_top_n: Optional[int] = _o("rerank_top_n", "--rerank-top-n"),
    precision: Optional[str] = _o("precision", "--precision"),
    backend: Optional[str] = _o("backend", "--backend"),
    threads: Optional[int] = _o("threads", "--threads"),
    max_batch_tokens: Optional[int] = _o("max_batch_tokens", "--max-batch-tokens"),
    max_wait_ms: Optional[float] = _o("max_wait_ms", "--max-wait-ms"),
    max_queue: Optional[int] = _o("max_queue", "--max-queue"),
    max_body_bytes: Optional[int] = _o("max_body_bytes", "--max-body-bytes"),
    max_header_bytes: Optional[int] = _o("max_header_bytes", "--max-header-bytes"),
    max_connections: Optional[int] = _o("max_connections", "--max-connections"),
    allowed_hosts: Optional[str] = _o("allowed_hosts", "--allowed-hosts"),
    max_inputs: Optional[int] = _o("max_inputs", "--max-inputs"),
    max_input_chars: Optional[int] = _o("max_input_chars", "--max-input-chars"),
    max_input_tokens: Optional[int] = _o("max_input_tokens", "--max-input-tokens"),
    truncate: Optional[bool] = _o("truncate", "--truncate/--no-truncate"),
    max_k: Optional[int] = _o("max_k", "--max-k"),
    retry_after_s: Optional[int] = _o("retry_after_s", "--retry-after-s"),
    graceful_timeout_s: Optional[float] = _o("graceful_timeout_s", "--graceful-timeout-s"),
    log_level: Optional[str] = _o("log_level", "--log-level"),
    access_log: Optional[bool] = _o("access_log", "--access-log/--no-access-log"),
) -> None:
    """Serve embeddings (OpenAI-compatible), /search, health, metrics and the search page."""
    import os

    # The HTTP event loop shares the cores with the model's threads: OpenMP threads that spin while
    # waiting then starve it (measured: 700 ms instead of 50 ms per query on a busy 2-core machine).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from densefit.models import resolve_model
    from densefit.serve import serve as run

    cfg = ServeConfig.from_env(**{k: v for k, v in locals().items() if k not in ("run", "resolve_model", "os")})
    for spec in (cfg.model, cfg.compare_model):
        if spec:
            resolve_model(spec)  # a missing folder fails now, not after the server started
    cfg.api_key()  # a named but unset key variable fails now
    run(cfg)
