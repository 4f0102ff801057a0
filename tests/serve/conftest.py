"""Serve test helpers: real uvicorn servers on free loopback ports (in a thread, or as a subprocess)."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import WORDS, build_tiny_model, sentence

READY_TIMEOUT_S = 180  # a bound for slow shared machines, not a performance check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, headers: dict | None = None, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before it was ready")
        try:
            r = httpx.get(base + "/readyz", headers=headers, timeout=5)
            if r.status_code == 200:
                return
            if r.json().get("status") == "failed":
                raise AssertionError(f"server failed to load: {r.json()}")
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base} not ready after {READY_TIMEOUT_S} s")


@contextlib.contextmanager
def running(cfg, *, ready: bool = True):
    """Serve `create_app(cfg)` with uvicorn in a thread; yields (base_url, app)."""
    import uvicorn

    from densefit.serve import create_app
    from densefit.serve.server import uvicorn_options

    app = create_app(cfg)
    options = {**uvicorn_options(cfg), "host": "127.0.0.1", "log_level": "warning"}  # what `densefit serve` runs
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{cfg.port}"
    try:
        while not server.started:
            if not thread.is_alive():
                raise AssertionError("uvicorn thread died at start-up")
            time.sleep(0.02)
        if ready:
            wait_ready(base)
        yield base, app
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def serve_cfg(model: str, **kw):
    from densefit.serve import ServeConfig

    return ServeConfig(model=model, port=free_port(), **kw)


def cli_server(args: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """`densefit serve ARGS` as a real process; stdout and stderr go to `log`."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    code = "from densefit.cli.app import main; main()"
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", code, "serve", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=full_env, cwd=Path(__file__).resolve().parents[2])


def corpus(n: int = 40, seed: int = 0) -> tuple[list[str], list[str], list[dict]]:
    rng = random.Random(seed)
    ids = [f"doc{i}" for i in range(n)]
    texts = [f"{WORDS[i % len(WORDS)]} " + sentence(rng, 14) for i in range(n)]
    meta = [{"section": str(1 + i % 3), "n": i} for i in range(n)]
    return ids, texts, meta


def build_store(folder: Path, model: str) -> str:
    from densefit.index import Index

    ids, texts, meta = corpus()
    with Index.open(str(folder), model=model, create=True) as idx:
        idx.add(ids, texts, meta)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory) -> str:
    """A second tiny model (other seed): the compare model."""
    return str(build_tiny_model(tmp_path_factory.mktemp("tinyb"), seed=1))


@pytest.fixture(scope="session")
def store_a(tmp_path_factory, tiny_model) -> str:
    return build_store(tmp_path_factory.mktemp("store") / "a", tiny_model)


@pytest.fixture(scope="session")
def store_b(tmp_path_factory, tiny_model_b) -> str:
    return build_store(tmp_path_factory.mktemp("store") / "b", tiny_model_b)


@pytest.fixture(scope="module")
def search_server(tiny_model, tiny_model_b, store_a, store_b):
    """A server with a store and a compare model + store."""
    cfg = serve_cfg(tiny_model, store=store_a, model_name="base", compare_model=tiny_model_b,
                    compare_name="tuned", compare_store=store_b)
    with running(cfg) as (base, app):
        yield base, app
