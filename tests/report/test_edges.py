"""The report's rough edges: no empty eval chart, snippets around the matching sentence, a short settings
table, a model card with model-index, and no secret in train.json."""

from __future__ import annotations

import yaml

from densefit.config import TrainConfig
from densefit.report.card import front_matter
from densefit.report.html import settings_section, training_section
from densefit.report.perquery import snippet

BOILERPLATE = "LIBRARY Standard C library (libc, -lc). SYNOPSIS #include <unistd.h>. "


def test_without_evaluations_the_chart_shows_only_the_loss_and_says_why():
    summary = {"train": {"steps": 4, "rows": 32, "final_loss": 0.5,
                         "log_history": [{"step": s, "loss": 1.0 / s} for s in (1, 2, 3, 4)]}}
    html = training_section({"summary": summary})
    assert "No evaluation chart" in html and "--eval-steps" in html and "eval metric" not in html
    with_eval = dict(summary["train"], log_history=summary["train"]["log_history"] + [{"step": 4, "eval_ndcg@10": 0.5}])
    assert "No evaluation chart" not in training_section({"summary": {"train": with_eval}})


def test_snippets_show_the_sentence_that_matches_the_query():
    text = BOILERPLATE * 3 + "The unlink() function deletes a name from the filesystem. " + "More text follows. " * 20
    shown = snippet(text, 160, query="delete a file name from the filesystem")
    assert shown.startswith("…The unlink() function deletes a name") and len(shown) <= 160
    assert snippet(text, 160).startswith("LIBRARY")  # no query: the start, as before
    assert snippet(text, 160, query="zebra quagga").startswith("LIBRARY")  # nothing matches: the start


def test_the_settings_table_shows_what_was_set_or_matters():
    cfg = TrainConfig(model="default", train="pairs.jsonl", mine_depth=80, generator_api_key="sk-secret-123").to_dict()
    html = settings_section({"summary": {"config": cfg}})
    assert "mine_depth" in html and "pairs.jsonl" in html and "learning_rate" not in html  # unset: not shown
    assert "tsdae_noise" not in html and "silver_per_query" not in html  # defaults of unused methods
    assert html.count("<tr>") < 12
    assert "sk-secret-123" not in html and cfg["generator_api_key"] == "<redacted>"


def test_the_model_card_has_a_model_index_with_the_tuned_scores():
    summary = {"config": {"model": "default", "out": "runs/man"}, "eval": {"path": "data/manpages", "split": "test"}}
    report = {"base": "base", "tuned": "fine-tuned",
              "headline": {"metrics": ["ndcg@10", "mrr@10"], "columns": {"base": {"ndcg@10": 0.6, "mrr@10": 0.55},
                                                                         "fine-tuned": {"ndcg@10": 0.7, "mrr@10": 0.66}}}}
    meta = yaml.safe_load(yaml.safe_dump(front_matter(summary, report)))
    (entry,) = meta["model-index"]
    (result,) = entry["results"]
    assert entry["name"] == "man" and result["task"]["type"] == "retrieval"
    assert result["dataset"] == {"name": "manpages", "type": "manpages", "split": "test"}
    assert {m["type"]: m["value"] for m in result["metrics"]} == {"ndcg_at_10": 0.7, "mrr_at_10": 0.66}
    assert "model-index" not in front_matter(summary, {})
