"""Header and connection caps, which hold before auth and before any route runs, probed with raw sockets."""

from __future__ import annotations

import json
import socket
import time

import psutil
import pytest

from tests.serve.conftest import cli_server, free_port, running, serve_cfg, wait_ready

KEY = {"Authorization": "Bearer s3cret"}


def answer(sock: socket.socket) -> tuple[int, dict, dict]:
    """Read one response (status, headers, JSON body) from a raw socket."""
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(reader.read(int(headers["content-length"])))


@pytest.fixture(scope="module")
def capped(tiny_model):
    mp = pytest.MonkeyPatch()
    mp.setenv("DENSEFIT_TEST_PROTO_KEY", "s3cret")
    cfg = serve_cfg(tiny_model, api_key_env="DENSEFIT_TEST_PROTO_KEY", max_header_bytes=4096, max_connections=4)
    with running(cfg, ready=False) as (base, app):
        wait_ready(base, headers=KEY)
        yield cfg.port
    mp.undo()


def test_a_complete_oversized_header_gets_431_before_auth(capped):
    with socket.create_connection(("127.0.0.1", capped), timeout=30) as sock:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 10_000 + b"\r\n\r\n")
        status, headers, body = answer(sock)
    assert status == 431 and headers["connection"] == "close"
    assert body["error"]["code"] == "headers_too_large" and "max_header_bytes" in body["error"]["message"]


def test_an_unfinished_header_is_cut_off_at_the_limit(capped):
    with socket.create_connection(("127.0.0.1", capped), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 20_000)  # never ends
        status, _, body = answer(sock)
        assert status == 431 and body["error"]["type"] == "invalid_request_error"
        assert sock.recv(1) == b""  # and the server closed the connection


def test_headers_under_the_limit_are_served(capped):
    with socket.create_connection(("127.0.0.1", capped), timeout=30) as sock:
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nX-Pad: " + b"p" * 3000
                     + b"\r\n\r\n")
        assert answer(sock)[0] == 200


def test_connections_beyond_the_cap_get_503_and_the_slot_frees_on_close(capped):
    idle = [socket.create_connection(("127.0.0.1", capped), timeout=30) for _ in range(4)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", capped), timeout=30) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = answer(extra)
        assert status == 503 and body["error"]["code"] == "unavailable" and "max_connections" in body["error"]["message"]
        assert headers["retry-after"] == "1"
        idle.pop().close()
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", capped), timeout=30) as again:
            again.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer(again)[0] == 200
    finally:
        for s in idle:
            s.close()


@pytest.mark.slow
def test_eight_16mb_unfinished_headers_do_not_grow_the_server(tmp_path, tiny_model):
    """The finding: eight connections each sending a 16 MB Authorization header that never ends grew RSS by
    about 160 MB. With the cap the server stops reading each one at 64 KiB and closes it."""
    port = free_port()
    proc = cli_server(["--model", tiny_model, "--port", str(port)], tmp_path / "serve.log")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc=proc)
        before = psutil.Process(proc.pid).memory_info().rss
        refused = 0
        socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(8)]
        for sock in socks:
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
                for _ in range(16):
                    sock.sendall(b"a" * (1 << 20))
            except OSError:  # the server closed it after its 431
                refused += 1
        grown = (psutil.Process(proc.pid).memory_info().rss - before) / 1e6
        for sock in socks:
            sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert refused == 8, "every 16 MB header should have been cut off"
    assert grown < 40, f"server RSS grew {grown:.0f} MB"


def test_large_bodies_on_a_keep_alive_connection_are_not_counted_as_headers(capped):
    """Body bytes that arrive in the same read as the end of a request must not count toward the next head."""
    body = json.dumps({"input": ["word " * 40_000]}).encode()  # 200 KB, far over max_header_bytes
    with socket.create_connection(("127.0.0.1", capped), timeout=60) as sock:
        for _ in range(2):
            sock.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n"
                         b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            status, headers, payload = answer(sock)
            assert status == 200 and headers.get("connection") != "close", payload
        sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\n\r\n")
        assert answer(sock)[0] == 200
