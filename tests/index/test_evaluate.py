"""`densefit eval --store`: retrieval metrics through the store, and recall@k against exact search."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from densefit.api import evaluate
from densefit.cli.app import app
from densefit.data.beir import load_beir
from densefit.index import Index
from densefit.index.config import IndexConfig
from densefit.index.evaluate import evaluate_store, recall_vs_exact


def test_eval_through_the_store_matches_exact_evaluation(tmp_path, tiny_model, ir_set):
    store = tmp_path / "store"
    runner = CliRunner()
    built = runner.invoke(app, ["index", "--model", tiny_model, "--corpus", str(ir_set), "--store", str(store),
                                "--no-progress"])
    assert built.exit_code == 0, built.output
    result = runner.invoke(app, ["eval", "--store", str(store), "--data", str(ir_set), "--json", "--k", "1,10"])
    assert result.exit_code == 0, result.output
    column = json.loads(result.stdout)[f"store {store}"]
    plain = evaluate(tiny_model, ir_set, ks=(1, 10))
    assert column["mrr@10"] == pytest.approx(plain["mrr@10"], abs=1e-6)  # small store: exact search
    assert column["recall_vs_exact@10"] == pytest.approx(1.0)

    with Index.open(store, config=IndexConfig(exact_below=10, nprobe=1)) as idx:  # force a coarse IVF
        out = evaluate_store(idx, load_beir(ir_set), ks=(1, 10))
    assert out["settings"]["mode"] == "ivf" and out["settings"]["nprobe"] == 1
    assert 0.0 < out["metrics"]["recall_vs_exact@10"] <= 1.0 and out["corpus_missing_from_store"] == 0


def test_recall_vs_exact_counts_the_overlap():
    exact = {"q": {"a": 0.9, "b": 0.8, "c": 0.7}}
    ann = {"q": {"a": 0.9, "c": 0.7, "z": 0.6}}
    assert recall_vs_exact(ann, exact, (1, 2, 3)) == {"recall_vs_exact@1": 1.0, "recall_vs_exact@2": 0.5,
                                                      "recall_vs_exact@3": pytest.approx(2 / 3)}
