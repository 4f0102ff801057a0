"""Every error a client can meet has OpenAI's shape and status, and the real `openai` client raises the
matching exception class; loose /search parameters are refused by name; a bug is a JSON 500 on a live
connection."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.serve.conftest import running, serve_cfg


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    from tests.serve.conftest import build_store

    store = build_store(tmp_path_factory.mktemp("errs") / "store", tiny_model)
    with running(serve_cfg(tiny_model, model_name="tiny", store=store, max_inputs=4)) as (base, app):
        yield base, app


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return body["error"]


def test_the_openai_client_raises_the_matching_exception_classes(server, tiny_model):
    import openai

    base, _ = server
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="text-embedding-3-small", input="x")
    assert missing.value.code == "model_not_found" and missing.value.type == "invalid_request_error"
    assert missing.value.param == "model" and "served: tiny" in missing.value.message
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model="tiny", input=[])
    assert empty.value.type == "invalid_request_error" and empty.value.param == "input"
    with pytest.raises(openai.UnprocessableEntityError) as many:
        client.embeddings.create(model="tiny", input=["a"] * 5)
    assert many.value.code == "invalid_value" and "max_inputs" in many.value.message



def test_authentication_errors_map_to_their_class_and_never_echo_the_key(tiny_model, monkeypatch):
    import openai

    from tests.serve.conftest import wait_ready

    monkeypatch.setenv("DENSEFIT_TEST_KEY", "right-key")
    with running(serve_cfg(tiny_model, model_name="tiny", api_key_env="DENSEFIT_TEST_KEY"), ready=False) as (base, _):
        wait_ready(base, headers={"Authorization": "Bearer right-key"})
        bad = openai.OpenAI(base_url=base + "/v1", api_key="wrong-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as denied:
            bad.embeddings.create(model="tiny", input="x")
        assert denied.value.type == "authentication_error" and denied.value.code == "invalid_api_key"
        assert "wrong-key" not in str(denied.value) and "right-key" not in str(denied.value)


def test_overload_is_a_rate_limit_error_with_retry_after(server, monkeypatch):
    import openai

    from densefit.serve.errors import ServeError

    base, app = server

    async def full(*args, **kwargs):
        raise ServeError("overloaded", "queue full: 512 texts waiting", retry_after=1)

    monkeypatch.setattr(app.state.service, "embed", full)
    raw = httpx.post(base + "/v1/embeddings", json={"input": "x"})
    assert raw.status_code == 429 and raw.headers["retry-after"] == "1"
    client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.RateLimitError) as limited:
        client.embeddings.create(model="tiny", input="x")
    assert limited.value.type == "rate_limit_error" and limited.value.code == "rate_limit_exceeded"


def test_a_request_larger_than_the_queue_runs_when_it_is_alone(tiny_model):
    with running(serve_cfg(tiny_model, max_queue=2, max_inputs=8)) as (base, _):
        r = httpx.post(base + "/v1/embeddings", json={"input": ["a", "b", "c", "d", "e"]})
        assert r.status_code == 200 and len(r.json()["data"]) == 5


def test_invalid_json_is_a_400_everywhere(server):
    base, _ = server
    for path in ("/v1/embeddings", "/search", "/invocations"):
        r = httpx.post(base + path, content=b'{"input": ', headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.text)
        err = error_of(r)
        assert err["type"] == "invalid_request_error" and err["code"] == "invalid_json"


@pytest.mark.parametrize("body, named", [
    ({"query": "signal", "top_k": -1}, "top_k"),
    ({"query": "signal", "k": True}, "k"),
    ({"query": "signal", "k": "5"}, "k"),
    ({"query": "signal", "k": -1}, "k"),
    ({"query": "signal", "model": "nope"}, "model"),
    ({"query": "signal", "filter": {"sectoin": "1"}}, "filter"),
    ({"query": "signal", "rerank": "yes"}, "rerank"),
])
def test_loose_search_parameters_get_a_422_that_names_them(server, body, named):
    base, _ = server
    for path in ("/search", "/invocations"):
        r = httpx.post(base + path, json=body)
        assert r.status_code == 422, (path, body, r.text)
        err = error_of(r)
        assert err["param"] == named and named in err["message"], (path, err)
    if named == "filter":
        assert "sectoin" in err["message"] and "section" in err["message"]  # names the bad and the known fields


def test_a_known_filter_field_still_searches(server):
    base, _ = server
    r = httpx.post(base + "/search", json={"query": "signal", "k": 3, "filter": {"section": "2"}})
    assert r.status_code == 200 and all(h["metadata"]["section"] == "2" for h in r.json()["hits"])


def test_a_bug_becomes_a_json_500_and_the_connection_stays_open(server, monkeypatch):
    base, app = server

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in densefit")

    monkeypatch.setattr(app.state.service, "search", broken)
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")
        for path, body in (("/search", b'{"query": "x"}'), ("/healthz", b"")):
            method = b"POST" if body else b"GET"
            sock.sendall(method + b" " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                         b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            payload = reader.read(int(headers["content-length"]))
            if path == "/search":
                assert status.startswith(b"HTTP/1.1 500") and headers.get("connection") != "close"
                err = json.loads(payload)["error"]
                assert err["type"] == "server_error" and "a bug in densefit" not in err["message"]
            else:  # the same socket answers the next request
                assert status.startswith(b"HTTP/1.1 200") and json.loads(payload)["status"] == "ok"


def test_a_model_that_is_not_a_string_is_a_422_not_a_500(server):
    """Found by the API fuzzing: a list as `model` reached a dict lookup and raised TypeError."""
    base, _ = server
    for path, body in (("/invocations", {"inputs": ["x"], "model": []}), ("/v1/embeddings", {"input": "x", "model": 3})):
        r = httpx.post(base + path, json=body)
        assert r.status_code == 422 and error_of(r)["param"] == "model", (path, r.text)


def test_every_densefit_error_class_has_its_status():
    from densefit.errors import ConfigError, DataError, DensefitError, JobError
    from densefit.index.errors import DuplicateIdError, FilterError, StoreBusyError, StoreError
    from densefit.serve.errors import STATUS, kind_of

    cases = {StoreBusyError("busy"): 503, StoreError("gone"): 503, DataError("bad"): 422, FilterError("f"): 422,
             ConfigError("c"): 422, DuplicateIdError(["a"], "in the store"): 422, JobError("worker died"): 500,
             DensefitError("other"): 400}
    assert {type(e).__name__: STATUS[kind_of(e)] for e in cases} == {type(e).__name__: s for e, s in cases.items()}


def test_a_busy_store_answers_503_with_retry_after(server, monkeypatch):
    from densefit.index.errors import StoreBusyError

    base, app = server
    slot = app.state.service.engine.slots["tiny"]

    def busy(*args, **kwargs):
        raise StoreBusyError("another writer held the store for 30 s")

    monkeypatch.setattr(slot.index, "search_vectors", busy)
    r = httpx.post(base + "/search", json={"query": "signal"})
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and error_of(r)["type"] == "server_error"


def test_a_default_server_takes_the_1000_inputs_langchain_sends(tiny_model):
    import openai

    with running(serve_cfg(tiny_model, model_name="tiny")) as (base, _):
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        got = client.embeddings.create(model="tiny", input=[f"chunk {i} of a document" for i in range(1000)])
        assert len(got.data) == 1000 and [d.index for d in got.data] == list(range(1000))
