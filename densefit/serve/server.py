"""Run the app under uvicorn, with a graceful SIGTERM: stop accepting, finish in-flight requests, exit 0."""

from __future__ import annotations

import logging
import signal

from densefit.console import say
from densefit.serve.config import ServeConfig


def _after_graceful_stop(signum, frame) -> None:
    """uvicorn re-raises the signal it handled once it has shut down; we have already stopped cleanly."""


class RedactQuery(logging.Filter):
    """Access-log lines keep the path but never the query string, so a key sent as `?api_key=...`
    (which is refused) cannot reach a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?<redacted>", *args[3:])
        return True


def log_config() -> dict:
    """uvicorn's own logging config, with the access handler's query strings redacted."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_query"] = {"()": RedactQuery}
    config["handlers"]["access"]["filters"] = ["redact_query"]
    return config


def uvicorn_options(cfg: ServeConfig) -> dict:
    """What every densefit server passes to uvicorn: the guarded protocol (header and connection caps), no
    Server header, and the access log with query strings redacted."""
    from densefit.serve.protocol import guarded_protocol

    return {"host": cfg.host, "port": cfg.port, "log_level": cfg.log_level, "access_log": cfg.access_log,
            "timeout_graceful_shutdown": cfg.graceful_timeout_s, "server_header": False, "log_config": log_config(),
            "http": guarded_protocol(cfg.max_header_bytes, cfg.max_connections)}


def exposure_warning(cfg: ServeConfig) -> str | None:
    """A warning when the server listens beyond this machine with no key (anyone who can reach it can use it)."""
    import ipaddress

    host = cfg.host.strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback or cfg.api_key_env:
        return None
    return (f"serve: WARNING: listening on {cfg.host}, reachable from other machines, with no API key: anyone who "
            "can reach this port can use the model and read the store. Fix: set --api-key-env (and --allowed-hosts "
            "against DNS rebinding), or bind 127.0.0.1")


def serve(cfg: ServeConfig) -> None:
    """Serve until SIGTERM/SIGINT. Blocks; returns after a graceful shutdown."""
    import uvicorn

    from densefit.serve.app import create_app

    app = create_app(cfg)
    auth = f"on (key from ${cfg.api_key_env})" if cfg.api_key_env else "off"
    say(f"serve: http://{cfg.host}:{cfg.port}  (page /, API docs /docs, auth {auth})")
    if warning := exposure_warning(cfg):
        say(f"[yellow]{warning}[/yellow]")
    previous = signal.signal(signal.SIGTERM, _after_graceful_stop)
    try:
        uvicorn.run(app, **uvicorn_options(cfg))
    finally:
        signal.signal(signal.SIGTERM, previous)
