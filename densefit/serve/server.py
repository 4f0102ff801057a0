"""Run the app under uvicorn, with a graceful SIGTERM: stop accepting, finish in-flight requests, exit 0."""

from __future__ import annotations

import signal

from densefit.console import say
from densefit.serve.config import ServeConfig


def _after_graceful_stop(signum, frame) -> None:
    """uvicorn re-raises the signal it handled once it has shut down; we have already stopped cleanly."""


def serve(cfg: ServeConfig) -> None:
    """Serve until SIGTERM/SIGINT. Blocks; returns after a graceful shutdown."""
    import uvicorn

    from densefit.serve.app import create_app

    app = create_app(cfg)
    auth = f"on (key from ${cfg.api_key_env})" if cfg.api_key_env else "off"
    say(f"serve: http://{cfg.host}:{cfg.port}  (page /, API docs /docs, auth {auth})")
    previous = signal.signal(signal.SIGTERM, _after_graceful_stop)
    try:
        uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=cfg.access_log,
                    timeout_graceful_shutdown=cfg.graceful_timeout_s, server_header=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
