"""One encoder everywhere: the Python API, `densefit encode`, `index`/`search` and `serve` load a model through
the same loader, so they pick the same backend and give the same vector for the same text.

The model gets a real ONNX export made by `densefit export`; its recorded speed-up is then set to 2x so that
`backend=auto` picks it on any CPU (whether the tiny model's export is really faster here is beside the point:
the test checks that every layer makes the *same* choice, and that it stays within the parity bound of torch).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from densefit.api import load
from densefit.inference.parity import MIN_COSINE
from densefit.inference.runtimes import MANIFEST
from tests.serve.conftest import cli_server, free_port, wait_ready

DENSEFIT = str(Path(sys.executable).with_name("densefit"))
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
TEXTS = ["get file status", "open and possibly create a file", "map files or devices into memory",
         "list directory contents", "copy files and directories"]
SAME = 1e-5  # the same backend on the same text: equal up to float noise


def densefit(*args) -> subprocess.CompletedProcess:
    done = subprocess.run([DENSEFIT, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, f"densefit {args[0]} failed:\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def exported(tiny_model, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("one-encoder") / "model"
    shutil.copytree(tiny_model, model)
    densefit("export", "--model", model, "--format", "onnx", "--sample", "16", "--calibration", "4")
    manifest_path = model / "exports" / "onnx" / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    assert manifest["parity"]["passed"], manifest["parity"]
    manifest["parity"]["speedup"] = 2.0  # make auto choose it here (see the module docstring)
    manifest_path.write_text(json.dumps(manifest))
    return model


@pytest.mark.slow
def test_api_encode_index_search_and_serve_use_one_backend_and_agree(exported, tmp_path):
    import pyarrow.parquet as pq

    api = load(str(exported))
    assert api.backend == "onnx"
    reference = api.encode(TEXTS)
    torch_vectors = load(str(exported), backend="torch").encode(TEXTS)
    assert float(np.sum(reference * torch_vectors, axis=1).min()) >= MIN_COSINE  # the export's parity bound

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    encoded = densefit("encode", "--model", exported, "--input", docs, "--out", tmp_path / "emb.parquet",
                       "--no-progress")
    assert "backend onnx" in encoded.stderr
    table = pq.read_table(tmp_path / "emb.parquet").to_pydict()
    assert np.abs(np.asarray(table["embedding"], dtype=np.float32) - reference).max() < SAME

    store = tmp_path / "store"
    indexed = densefit("index", "--model", exported, "--corpus", docs, "--store", store, "--no-progress")
    assert "backend onnx" in indexed.stderr
    searched = densefit("search", TEXTS[2], "--store", store, "-k", "1", "--json")
    hit = json.loads(searched.stdout)[0]
    assert hit["id"] == "d2" and hit["score"] == pytest.approx(1.0, abs=SAME)  # query and document: one vector

    port, log = free_port(), tmp_path / "serve.log"
    proc = cli_server(["--store", str(store), "--port", str(port)], log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc=proc)
        served = httpx.post(f"http://127.0.0.1:{port}/v1/embeddings", json={"input": TEXTS}, timeout=60)
        assert served.status_code == 200, served.text
        vectors = np.asarray([row["embedding"] for row in served.json()["data"]], dtype=np.float32)
        assert np.abs(vectors - reference).max() < SAME
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "backend onnx" in log.read_text()
