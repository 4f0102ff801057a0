"""The flow a user runs, one command per process: `index`, then `search`, then `eval --store`, then `serve`.

Each command is a new process that never saw the store before, for every store backend
(the embedded store, Milvus Lite, OpenSearch through the local recorder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from densefit.api import evaluate
from tests.index.test_store_contract import BACKENDS
from tests.serve.conftest import cli_server, free_port, wait_ready

DENSEFIT = str(Path(sys.executable).with_name("densefit"))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def densefit(*args) -> str:
    done = subprocess.run([DENSEFIT, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, f"densefit {args[0]} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def first_doc(folder: Path) -> dict:
    with open(folder / "corpus.jsonl", encoding="utf-8") as fh:
        return json.loads(fh.readline())


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_index_then_search_then_eval_then_serve_as_separate_commands(backend, tmp_path, tiny_model, ir_set):
    doc = first_doc(ir_set)
    query = " ".join(filter(None, [doc.get("title"), doc["text"]]))
    with BACKENDS[backend](tmp_path) as uri:
        densefit("index", "--model", tiny_model, "--corpus", ir_set, "--store", uri, "--no-progress")

        hits = json.loads(densefit("search", query, "--store", uri, "-k", "3", "--json"))
        assert hits[0]["id"] == doc["_id"] and len(hits) == 3

        column = json.loads(densefit("eval", "--store", uri, "--data", ir_set, "--json", "--k", "1,10"))[f"store {uri}"]
        assert column["mrr@10"] == pytest.approx(evaluate(tiny_model, ir_set, ks=(1, 10))["mrr@10"], abs=1e-4)

        port = free_port()
        proc = cli_server(["--store", uri, "--port", str(port)], tmp_path / "serve.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc=proc)
            served = httpx.post(base + "/search", json={"query": query, "k": 3}, timeout=60)
            assert served.status_code == 200, served.text
            assert [h["id"] for h in served.json()["hits"]] == [h["id"] for h in hits]
        finally:
            proc.terminate()
            proc.wait(timeout=60)


@pytest.mark.slow
def test_search_modes_as_separate_commands(tmp_path, tiny_model, ir_set):
    doc = first_doc(ir_set)
    store = tmp_path / "store"
    densefit("index", "--model", tiny_model, "--corpus", ir_set, "--store", store, "--no-progress")
    lexical = json.loads(densefit("search", doc["text"], "--store", store, "--mode", "lexical", "-k", "3", "--json"))
    assert lexical[0]["id"] == doc["_id"]  # a document's own text is its best BM25 match
    hybrid = json.loads(densefit("search", doc["text"], "--store", store, "--mode", "hybrid", "--fusion", "convex",
                                 "--weight", "0.5", "-k", "3", "--json"))
    assert hybrid[0]["id"] == doc["_id"] and len(hybrid) == 3
    bad = subprocess.run([DENSEFIT, "search", "x", "--store", str(store), "--mode", "semantic"], capture_output=True,
                         text=True, timeout=300, env=ENV)
    assert bad.returncode == 2 and "choose one of: dense, hybrid, lexical" in bad.stderr
