"""An exposed bind without a key is warned about; --allowed-hosts refuses other Host headers (DNS rebinding)."""

from __future__ import annotations

import time

import httpx
import pytest

from densefit.serve import ServeConfig
from densefit.serve.server import exposure_warning
from tests.serve.conftest import cli_server, free_port, running, serve_cfg, wait_ready


@pytest.mark.parametrize("host, key, warned", [
    ("0.0.0.0", None, True), ("192.168.1.5", None, True), ("::", None, True), ("example.com", None, True),
    ("0.0.0.0", "SOME_KEY_VAR", False), ("127.0.0.1", None, False), ("::1", None, False), ("localhost", None, False),
])
def test_exposure_warning(host, key, warned):
    said = exposure_warning(ServeConfig(host=host, api_key_env=key))
    assert (said is not None) == warned
    if warned:
        assert host in said and "--api-key-env" in said and "--allowed-hosts" in said


def test_the_cli_prints_the_warning_when_it_binds_everywhere_without_a_key(tmp_path, tiny_model):
    port, log = free_port(), tmp_path / "serve.log"
    proc = cli_server(["--model", tiny_model, "--host", "0.0.0.0", "--port", str(port)], log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc=proc)
        time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    said = " ".join(log.read_text().split())
    assert "WARNING: listening on 0.0.0.0" in said and "no API key" in said


def test_allowed_hosts_refuse_other_host_headers(tiny_model):
    with running(serve_cfg(tiny_model, allowed_hosts="search.example.com, 127.0.0.1"), ready=False) as (base, _):
        wait_ready(base)
        assert httpx.get(base + "/healthz").status_code == 200  # Host: 127.0.0.1:PORT (the port is not compared)
        ok = httpx.get(base + "/healthz", headers={"Host": "Search.Example.com:8000"})
        assert ok.status_code == 200
        evil = httpx.get(base + "/v1/models", headers={"Host": "attacker.example"})
        assert evil.status_code == 400
        err = evil.json()["error"]
        assert err["code"] == "host_not_allowed" and "attacker.example" in err["message"]
