"""Property-based fuzzing of the HTTP API over its OpenAPI routes: random JSON bodies (schema fields with
any values, unknown fields, wrong types) and random bytes. No answer is a 5xx, and every error body has
OpenAI's shape. Bounded (DENSEFIT_FUZZ_EXAMPLES) so the suite stays fast."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import build_store, running, serve_cfg

EXAMPLES = int(os.environ.get("DENSEFIT_FUZZ_EXAMPLES", 60))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=40)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | TEXT,
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=3), max_leaves=10)
FIELDS = {"/v1/embeddings": ["input", "model", "encoding_format", "dimensions", "user"],
          "/search": ["query", "k", "filter", "model", "rerank"],
          "/invocations": ["inputs", "query", "k", "filter", "model", "rerank"]}


def body_for(path: str):
    known = st.dictionaries(st.sampled_from(FIELDS[path]), JSON | st.lists(TEXT, max_size=5), max_size=5)
    return known | JSON | st.dictionaries(TEXT, JSON, max_size=3)


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    store = build_store(tmp_path_factory.mktemp("fuzz") / "store", tiny_model)
    with running(serve_cfg(tiny_model, store=store, model_name="tiny", max_inputs=16)) as (base, _):
        with httpx.Client(base_url=base, timeout=60) as client:
            yield client


def check(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    body = r.json()
    if r.status_code >= 400:
        err = body["error"]
        assert set(err) == {"message", "type", "param", "code"} and isinstance(err["code"], str), body
        assert err["type"] in ("invalid_request_error", "authentication_error", "rate_limit_error", "server_error")


@FUZZ
@given(path=st.sampled_from(list(FIELDS)), data=st.data())
def test_random_json_bodies_never_give_a_5xx(server, path, data):
    body = data.draw(body_for(path))
    check(server.post(path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}))


@FUZZ
@given(path=st.sampled_from(list(FIELDS)), raw=st.binary(max_size=200))
def test_random_bytes_never_give_a_5xx(server, path, raw):
    check(server.post(path, content=raw, headers={"Content-Type": "application/json"}))
