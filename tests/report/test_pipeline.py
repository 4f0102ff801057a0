"""The training hook: report.html, report-data.json, the model card, forgetting and merge."""

from __future__ import annotations

import json
import shutil

import pytest

from densefit.report.build import REPORT_DATA, REPORT_HTML


def _data(run_dir):
    return json.loads((run_dir / REPORT_DATA).read_text())


def test_training_writes_report_with_paired_statistics(trained_run):
    run = trained_run.run_dir
    data = _data(run)
    head = data["headline"]
    assert list(head["columns"]) == ["bm25", "base", "fine-tuned"]
    by_metric = {c["metric"]: c for c in head["comparisons"]["base"]}
    ndcg = by_metric["ndcg@10"]
    assert ndcg["a"] == pytest.approx(trained_run.metrics_before["ndcg@10"])
    assert ndcg["b"] == pytest.approx(trained_run.metrics_after["ndcg@10"])
    assert ndcg["ci_low"] <= ndcg["delta"] <= ndcg["ci_high"] and 0 <= ndcg["p_value"] <= 1
    assert set(head["comparisons"]) == {"base", "bm25"}
    html = (run / REPORT_HTML).read_text()
    assert html.count("<svg") >= 4 and "95% CI" in html and "<script" not in html


def test_per_query_view_counts_and_examples(trained_run):
    pq = _data(trained_run.run_dir)["per_query"]
    assert pq["wins"] + pq["losses"] + pq["ties"] == len(pq["deltas"]) == 30
    assert pq["wins"] == sum(d > 1e-9 for d in pq["deltas"])
    for ex in pq["biggest_regressions"]:
        assert ex["delta"] < 0 and len(ex["top_before"]) == 5 and ex["relevant"][0]["text"]
    deltas = [ex["delta"] for ex in pq["biggest_wins"]]
    assert deltas == sorted(deltas, reverse=True) and all(d > 0 for d in deltas)


def test_training_curves_and_scores_from_the_run(trained_run):
    data = _data(trained_run.run_dir)
    history = data["summary"]["train"]["log_history"]
    assert any("loss" in e for e in history) and any("eval_ir_ndcg@10" in e for e in history)
    scores = data["scores"]
    assert len(scores["fine-tuned"]["negatives"]) == 30
    assert 0 <= scores["base"]["confused"] <= 30


def test_forgetting_and_merge_curve(trained_run):
    data = _data(trained_run.run_dir)
    f = data["forgetting"]
    assert f["queries"] == 20 and f["comparison"]["metric"] == "ndcg@10"
    assert f["warning"] == (f["comparison"]["delta"] < -f["threshold"])
    merge = data["merge"]
    assert [p["weight"] for p in merge["points"]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    base_general = merge["points"][0]["general"]
    chosen = next(p for p in merge["points"] if p["weight"] == merge["chosen"])
    assert chosen["general"] >= base_general - merge["max_drop"]
    allowed = [p for p in merge["points"] if p["general"] >= base_general - merge["max_drop"]]
    assert chosen["in_domain"] == max(p["in_domain"] for p in allowed)
    assert (trained_run.run_dir / "model-merged").is_dir() == (merge["chosen"] != 1.0)


def test_model_card_is_readable_by_the_hub(trained_run):
    from huggingface_hub import ModelCard

    card = ModelCard.load(trained_run.model_path / "README.md")
    meta = card.data.to_dict()
    assert meta["library_name"] == "sentence-transformers"
    assert "loss:MultipleNegativesRankingLoss" in meta["tags"]
    assert "base_model" not in meta  # a local tiny model: unknown on the hub
    assert "## Evaluation: before and after" in card.text and "| ndcg@10 |" in card.text
    assert "learning_rate | 0.0005" in card.text and "## Intended use" in card.text


def test_base_model_id_in_front_matter():
    from densefit.report.card import base_model_id, front_matter

    assert base_model_id("default") == "sentence-transformers/all-MiniLM-L6-v2"
    assert base_model_id("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"
    assert base_model_id("./runs/x") is None and base_model_id("/abs/path/model") is None
    meta = front_matter({"config": {"model": "intfloat/e5-small-v2"},
                         "loss": {"name": "cosent", "class": "CoSENTLoss"}})
    assert meta["base_model"] == "intfloat/e5-small-v2" and "loss:CoSENTLoss" in meta["tags"]


def test_report_failure_warns_and_keeps_the_model(tmp_path, tiny_model, report_data, capsys):
    import densefit

    pairs, ir, _ = report_data
    result = densefit.fit(model=tiny_model, train_data=pairs, eval_data=ir, out=tmp_path / "run", epochs=1,
                          batch_size=32, method="supervised", forgetting=str(tmp_path / "no-such-set"), merge="auto")
    assert (result.model_path / "model.safetensors").is_file() and result.train_json.is_file()
    assert not (tmp_path / "run" / REPORT_HTML).exists()
    assert "the report could not be written" in capsys.readouterr().err


def test_missing_forgetting_set_only_skips_that_section(tmp_path, trained_run, capsys):
    from densefit.report import report_run

    run = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run, ignore=shutil.ignore_patterns("checkpoints"))
    report_run(run, forgetting=str(tmp_path / "no-such-set"), bm25=False)
    data = _data(run)
    assert "neither 'bible' nor a BEIR-style folder" in data["forgetting"]["error"]
    assert "could not run" in (run / REPORT_HTML).read_text()
