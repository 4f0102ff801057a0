"""Query and document prompts: set in training, stored in the model folder (plain sentence-transformers'
encode_query/encode_document use them), applied by every encoder and export, recorded by a store, and a
store searched with other prompts is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from densefit.api import load
from densefit.config import TrainConfig
from densefit.index import Index
from densefit.index.errors import ModelMismatchError
from densefit.train.run import column_prompts

DENSEFIT = str(Path(sys.executable).with_name("densefit"))
TEXTS = ["get file status", "open and possibly create a file"]
PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def prompted_run(tiny_model, tmp_path_factory) -> Path:
    """A 2-step `densefit train` with both prompts (a real process, as a user runs it)."""
    import random

    from tests.conftest import sentence, write_jsonl

    root = tmp_path_factory.mktemp("prompts")
    rng = random.Random(2)
    pairs = write_jsonl(root / "pairs.jsonl", [{"anchor": f"q{i} " + sentence(rng, 4), "positive": sentence(rng)}
                                               for i in range(32)])
    done = subprocess.run([DENSEFIT, "train", "--model", tiny_model, "--train", str(pairs), "--out", str(root / "run"),
                           "--max-steps", "2", "--batch-size", "8", "--method", "supervised", "--no-report",
                           "--query-prompt", PROMPTS["query"], "--document-prompt", PROMPTS["document"],
                           "--no-progress"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "run" / "model"


def test_prompts_round_trip_through_the_model_folder(prompted_run):
    from sentence_transformers import SentenceTransformer

    saved = json.loads((prompted_run / "config_sentence_transformers.json").read_text())["prompts"]
    assert saved["query"] == PROMPTS["query"] and saved["document"] == PROMPTS["document"]
    plain = SentenceTransformer(str(prompted_run))
    ours = load(str(prompted_run), backend="torch", precision="fp32")
    assert ours.prompts == PROMPTS
    for kind, stock in (("query", plain.encode_query), ("document", plain.encode_document)):
        reference = stock(TEXTS, normalize_embeddings=True)
        assert np.abs(ours.encode(TEXTS, kind=kind) - reference).max() < 1e-5
    with_prompt = ours.encode(["query: " + t for t in TEXTS])  # the prompt is text put first
    assert np.abs(ours.encode(TEXTS, kind="query") - with_prompt).max() < 1e-5
    assert np.abs(ours.encode(TEXTS, kind="query") - ours.encode(TEXTS)).max() > 1e-3


def test_an_export_applies_the_same_prompts(prompted_run, tmp_path):
    from densefit.inference.export import ExportConfig, export_model
    from densefit.inference.parity import MIN_COSINE
    from densefit.inference.runtimes import open_exported

    model = tmp_path / "model"
    shutil.copytree(prompted_run, model)
    export_model(ExportConfig(model=str(model), format="onnx", out=str(tmp_path / "onnx"), sample=8, calibration=4))
    exported, torch_encoder = open_exported(tmp_path / "onnx"), load(str(model), backend="torch", precision="fp32")
    assert exported.prompts == PROMPTS
    for kind in ("query", "document"):
        cos = np.sum(exported.encode(TEXTS, kind=kind) * torch_encoder.encode(TEXTS, kind=kind), axis=1)
        assert float(cos.min()) >= MIN_COSINE


def test_a_store_records_its_prompts_and_refuses_others(prompted_run, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(prompted_run, model)
    with Index.open(tmp_path / "store", model=str(model), create=True) as idx:
        idx.add(["a", "b"], TEXTS)
        assert idx.store.info()["prompts"] == PROMPTS
        assert idx.search(TEXTS[1], k=1)[0].id == "b"
    config = model / "config_sentence_transformers.json"
    changed = json.loads(config.read_text())
    changed["prompts"] = {**changed["prompts"], "query": "search_query: "}
    config.write_text(json.dumps(changed))
    with pytest.raises(ModelMismatchError, match="built with prompts .*query: .*now has .*search_query: "):
        Index.open(tmp_path / "store", model=str(model))


def test_training_puts_the_query_prompt_on_anchors_and_the_document_prompt_on_the_rest():
    cfg = TrainConfig(train="x", query_prompt="q: ", document_prompt="d: ")
    assert column_prompts(cfg, ["anchor", "positive", "negative", "negative_2"]) == {
        "anchor": "q: ", "positive": "d: ", "negative": "d: ", "negative_2": "d: "}
    assert column_prompts(cfg, ["sentence1", "sentence2", "score"]) == {}  # not query-document rows
    assert column_prompts(TrainConfig(train="x"), ["anchor", "positive"]) == {}


def test_serve_embeds_queries_and_documents_with_their_prompts(prompted_run, tmp_path):
    import httpx

    from tests.serve.conftest import running, serve_cfg

    with Index.open(tmp_path / "store", model=str(prompted_run), create=True) as idx:
        idx.add(["a", "b"], TEXTS)
        want = idx.search(TEXTS[0], k=2)
    encoder = load(str(prompted_run))
    with running(serve_cfg(str(prompted_run), store=str(tmp_path / "store"))) as (base, _):
        for kind in ("query", "document", None):
            body = {"input": TEXTS, **({"input_type": kind} if kind else {})}
            got = np.asarray([d["embedding"] for d in httpx.post(base + "/v1/embeddings", json=body).json()["data"]])
            assert np.abs(got - encoder.encode(TEXTS, kind=kind)).max() < 1e-4, kind
        hits = httpx.post(base + "/search", json={"query": TEXTS[0], "k": 2}).json()["hits"]
        assert [h["id"] for h in hits] == [h.id for h in want]
        assert [h["score"] for h in hits] == pytest.approx([h.score for h in want], abs=1e-4)
