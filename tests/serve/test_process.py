"""`densefit serve` as a real process, configured only by environment variables: auth, then SIGTERM.

One process serves both tests (starting one costs seconds of imports). Its batch window is long
(5 s) but its token budget small (64): a request of 64 tokens fills a batch and runs at once, while
short requests wait in the queue, which is how the SIGTERM test gets requests in flight.
"""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx
import pytest

from tests.serve.conftest import cli_server, free_port, wait_ready

KEY = "dfk-test-7f3a9c-unique-marker"
GOOD = {"Authorization": f"Bearer {KEY}"}
FULL_BATCH = {"input": " ".join(["file"] * 62)}  # 64 tokens with [CLS] and [SEP]: fills the budget


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model):
    log = tmp_path_factory.mktemp("proc") / "server.log"
    port = free_port()
    env = {"DENSEFIT_SERVE_MODEL": tiny_model, "DENSEFIT_SERVE_PORT": str(port),
           "DENSEFIT_SERVE_API_KEY_ENV": "MY_SERVICE_KEY", "MY_SERVICE_KEY": KEY,
           "DENSEFIT_SERVE_LOG_LEVEL": "debug",  # so any leak of the key into logs would show
           "DENSEFIT_SERVE_MAX_WAIT_MS": "5000", "DENSEFIT_SERVE_MAX_BATCH_TOKENS": "64"}
    proc = cli_server([], log, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, headers=GOOD, proc=proc)
        yield base, port, proc, log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


def test_bearer_key_is_required_except_for_health_and_metrics(server):
    base, _, _, _ = server
    wrong = {"Authorization": "Bearer " + KEY[:-1] + "X"}
    assert httpx.post(base + "/v1/embeddings", json=FULL_BATCH).status_code == 401
    r = httpx.post(base + "/v1/embeddings", json=FULL_BATCH, headers=wrong)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer" and KEY not in r.text
    assert httpx.post(base + "/v1/embeddings", json=FULL_BATCH, headers={"Authorization": KEY}).status_code == 401
    assert httpx.post(base + "/v1/embeddings", json=FULL_BATCH, headers=GOOD).status_code == 200
    assert httpx.post(base + f"/v1/embeddings?api_key={KEY}", json=FULL_BATCH).status_code == 401
    # the key in other places a client might put it: other headers, the body, a second query parameter
    assert httpx.post(base + "/v1/embeddings", json=FULL_BATCH, headers={"X-API-Key": KEY}).status_code == 401
    assert httpx.post(base + "/v1/embeddings", json={**FULL_BATCH, "api_key": KEY}).status_code == 401
    assert httpx.post(base + f"/search?x=1&key={KEY}", json={**FULL_BATCH, "api_key": KEY}, headers=GOOD).status_code \
        in (404, 422)
    for path in ("/readyz", "/docs", "/openapi.json", "/info", "/v1/models"):
        assert httpx.get(base + path).status_code == 401, path
        assert httpx.get(base + path, headers=GOOD).status_code == 200, path
    assert httpx.get(base + "/healthz").status_code == 200
    assert httpx.get(base + "/ping").status_code == 200  # SageMaker's health check sends no header
    assert httpx.get(base + "/").status_code == 200  # the page's static files hold no data
    metrics = httpx.get(base + "/metrics")
    assert metrics.status_code == 200 and 'status="401"' in metrics.text and KEY not in metrics.text


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def test_sigterm_finishes_in_flight_requests_exits_0_and_never_logged_the_key(server):
    base, port, proc, log = server
    statuses: list[int] = []

    def short_request(i: int) -> None:
        r = httpx.post(base + "/v1/embeddings", json={"input": f"text {i}"}, headers=GOOD, timeout=60)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=short_request, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while "densefit_queue_depth 4.0" not in httpx.get(base + "/metrics").text:
        assert time.monotonic() < deadline, "requests never reached the queue"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not _refused(port):
        assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
        time.sleep(0.02)
    assert not statuses, "in-flight requests should still be waiting for their batch"
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 4
    assert proc.wait(timeout=60) == 0
    text = log.read_text(errors="replace")
    assert "Shutting down" in text and "Finished server process" in text and "401" in text
    assert KEY not in text and KEY[:12] not in text  # nor the one sent in a query string
    assert "/v1/embeddings?<redacted>" in text
