"""The demo pipeline end to end (short training, short texts) and the MiniLM integration."""

from __future__ import annotations

import json

import pytest

from densefit.demo import DemoConfig, run_demo


@pytest.mark.slow
def test_demo_runs_end_to_end_and_writes_its_report(tmp_path, monkeypatch):
    monkeypatch.setenv("DENSEFIT_CACHE", str(tmp_path / "cache"))
    report = run_demo(DemoConfig(out=tmp_path / "demo", epochs=0.1, max_seq_length=64))
    saved = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert saved["metrics"]["bm25"]["mrr@10"] == pytest.approx(report["metrics"]["bm25"]["mrr@10"])
    assert saved["data"]["splits"]["test"] >= 500
    for name in ("bm25", "zero_shot", "fine_tuned"):
        assert 0 < saved["metrics"][name]["mrr@10"] <= 1
    assert saved["train_steps"] >= 1
    assert len(saved["examples"]) == 3 and all(len(e["after"]) == 5 for e in saved["examples"])
    assert set(saved["targets"]) == {"mrr@10 gain >= 0.15", "fine-tuned beats bm25"}
    assert (tmp_path / "demo" / "model" / "model.safetensors").is_file()


def test_examples_are_the_biggest_win_the_median_and_the_biggest_loss():
    from densefit.data.beir import IRSet
    from densefit.demo import examples

    corpus = {f"d{i}": f"doc {i}" for i in range(8)}
    queries = {f"q{i}": f"query {i}" for i in range(5)}
    irset = IRSet(corpus=corpus, queries=queries, qrels={f"q{i}": {f"d{i}": 1} for i in range(5)}, split="test")

    def ranked(rank_of: dict[str, int]) -> dict:  # the relevant document at the given rank, fillers above it
        fill = [f"d{j}" for j in range(5, 8)]
        return {q: {**{fill[j]: 1.0 - j / 10 for j in range(r - 1)}, f"d{q[1:]}": 0.5} for q, r in rank_of.items()}

    before = ranked({"q0": 3, "q1": 1, "q2": 2, "q3": 1, "q4": 4})
    after = ranked({"q0": 1, "q1": 3, "q2": 2, "q3": 1, "q4": 3})
    rows = examples(irset, before, after)
    assert [r["query"] for r in rows] == ["query 0", "query 3", "query 1"]
    assert rows[0]["why"].startswith("biggest win: RR@10 0.33 → 1.00")
    assert rows[1]["why"].startswith("typical case") and rows[2]["why"].startswith("biggest loss")
    assert examples(irset, before, after) == rows  # the same every run
