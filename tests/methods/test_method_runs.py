"""Each method of issue 3 end to end on the tiny model: a loadable model and the same train.json."""

from __future__ import annotations

import json

import pytest

import densefit

from ..cli.test_cli import run_cli

COMMON = dict(max_steps=2, batch_size=8, learning_rate=1e-3)
SUMMARY_KEYS = {"config", "method", "model", "data", "loss", "precision", "train", "eval", "metrics_before",
                "metrics_after", "timings"}


def _check_run(result, method: str, stages: list[str]) -> dict:
    from sentence_transformers import SentenceTransformer

    summary = json.loads(result.train_json.read_text())
    assert SUMMARY_KEYS <= set(summary) and summary["method"]["name"] == method
    assert [s["name"] for s in summary["method"]["stages"]] == stages
    assert all(s["seconds"] >= 0 for s in summary["method"]["stages"])
    assert summary["train"]["steps"] == 2 and summary["metrics_before"] and summary["metrics_after"]
    emb = SentenceTransformer(str(result.model_path)).encode(["get file status"])
    assert emb.shape == (1, 32)
    return summary


def test_supervised_with_mined_negatives(tiny_model, pairs_file, ir_set, tmp_path):
    out = tmp_path / "run"
    result = densefit.fit(tiny_model, pairs_file, method="supervised", eval_data=ir_set, out=out, mine=True,
                          corpus=str(ir_set), mine_negatives=2, mine_relative_margin=None, mine_skip_top=1, **COMMON)
    summary = _check_run(result, "supervised", ["load", "mine", "train"])
    mined = summary["data"]["mined"]
    assert mined["documents"] == 40 and mined["queries"] == 64 and mined["dropped"] == {"rank window": 64}
    review = [json.loads(line) for line in (out / "mined_false_negatives.jsonl").read_text().splitlines()]
    assert len(review) == 64 and all(r["rank"] == 0 and r["reason"] == "rank window" for r in review)


def test_genq(tiny_model, ir_set, tmp_path):
    result = densefit.fit(tiny_model, method="genq", corpus=str(ir_set), eval_data=ir_set, out=tmp_path / "run",
                          queries_per_passage=2, **COMMON)
    summary = _check_run(result, "genq", ["load", "generate", "train"])
    assert summary["data"]["generated"]["queries"] == 80 and summary["loss"]["name"] == "mnr"
    assert len((tmp_path / "run" / "generated_queries.jsonl").read_text().splitlines()) == 80


def test_gpl_trains_its_own_cross_encoder_and_uses_raw_margins(tiny_model, ir_set, tmp_path):
    result = densefit.fit(tiny_model, method="gpl", corpus=str(ir_set), eval_data=ir_set, out=tmp_path / "run",
                          queries_per_passage=1, **COMMON)
    summary = _check_run(result, "gpl", ["load", "generate", "mine", "cross-encoder", "label", "train"])
    stages = {s["name"]: s for s in summary["method"]["stages"]}
    assert stages["cross-encoder"]["trained_here"] and stages["mine"]["retrievers"] == ["model", "bm25"]
    assert stages["cross-encoder"]["steps"] == 5  # a full epoch of 80 rows: --max-steps 2 does not cap the teacher
    assert summary["loss"]["name"] == "margin-mse"
    assert (tmp_path / "run" / "cross-encoder" / "config.json").is_file()


def test_augsbert_labels_a_silver_set(tiny_model, pairs_file, ir_set, tmp_path):
    result = densefit.fit(tiny_model, pairs_file, method="augsbert", corpus=str(ir_set), eval_data=ir_set,
                          out=tmp_path / "run", silver_per_query=3, **COMMON)
    summary = _check_run(result, "augsbert", ["load", "cross-encoder", "silver", "train"])
    silver = [json.loads(line) for line in (tmp_path / "run" / "silver.jsonl").read_text().splitlines()]
    assert len(silver) == 64 * 3 == summary["data"]["silver"]["pairs"]
    assert all(0.0 <= r["score"] <= 1.0 for r in silver)


def test_corpus_method_without_a_corpus_says_what_to_pass(tiny_model, tmp_path):
    from densefit.errors import ConfigError

    with pytest.raises(ConfigError, match="--corpus FILE"):
        densefit.fit(tiny_model, method="genq", out=tmp_path / "run", **COMMON)


def test_cli_auto_explains_and_mine_writes_triplets(tiny_model, pairs_file, ir_set, tmp_path):
    trained = run_cli("train", "--model", tiny_model, "--corpus", str(ir_set), "--eval", str(ir_set), "--explain",
                      "--out", str(tmp_path / "run"), "--max-steps", "1", "--batch-size", "8",
                      "--generator", "extractive", "--queries-per-passage", "1", "--retrievers", "bm25")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "method: gpl (only documents (40), asymmetric search" in " ".join(trained.stderr.split())
    assert "not tsdae:" in trained.stderr
    mined = run_cli("mine", "--model", tiny_model, "--train", str(pairs_file), "--corpus", str(ir_set),
                    "--out", str(tmp_path / "triplets.jsonl"), "--negatives", "2", "--skip-top", "1")
    assert mined.returncode == 0, mined.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "triplets.jsonl").read_text().splitlines()]
    assert len(rows) == 64 and all(set(r) == {"anchor", "positive", "negative", "negative_2"} for r in rows)
    assert (tmp_path / "triplets.review.jsonl").is_file()
