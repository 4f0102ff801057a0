"""Report assembly on planted runs (no model): per-query view, score distributions, HTML, STS-only."""

from __future__ import annotations

from densefit.data.beir import IRSet
from densefit.report.build import ReportInputs, build_report, write_report
from densefit.report.scores import score_distribution


def _irset() -> IRSet:
    corpus = {f"d{i}": f"document number {i}" for i in range(8)}
    queries = {f"q{i}": f"query {i}" for i in range(4)}
    return IRSet(corpus=corpus, queries=queries, qrels={f"q{i}": {f"d{i}": 1} for i in range(4)}, split="test")


def _run(first: dict[str, str]) -> dict:
    """Each query ranks `first[q]` on top, then d4..d7."""
    return {q: {"d4": 0.5, "d5": 0.4, "d6": 0.3, "d7": 0.2, first[q]: 0.9} for q in first}


def test_planted_runs_give_wins_losses_and_ties(tmp_path):
    irset = _irset()
    before = _run({"q0": "d0", "q1": "d7", "q2": "d2", "q3": "d5"})  # q0, q2 right before
    after = _run({"q0": "d6", "q1": "d1", "q2": "d2", "q3": "d3"})  # q1, q2, q3 right after
    report = build_report(ReportInputs(title="planted", irset=irset, runs={"base": before, "fine-tuned": after}))
    pq = report["per_query"]
    assert (pq["wins"], pq["losses"], pq["ties"]) == (2, 1, 1)
    assert [ex["query_id"] for ex in pq["biggest_regressions"]] == ["q0"]
    top = pq["biggest_regressions"][0]["top_after"]
    assert top[0]["id"] == "d6" and not top[0]["relevant"] and len(top) == 4  # d6 counted once
    assert report["headline"]["columns"]["base"]["hit@1"] == 0.5
    assert report["headline"]["columns"]["fine-tuned"]["hit@1"] == 0.75
    html = write_report(tmp_path, report).read_text()
    assert "2 wins" in html and "1 losses" in html and "document number 0" in html


def test_score_distribution_counts_confusions_and_missing_positives():
    qrels = {"q0": {"d0": 1}, "q1": {"d1": 1}, "q2": {"d9": 1}}
    run = {"q0": {"d0": 0.9, "d3": 0.5}, "q1": {"d1": 0.4, "d3": 0.6}, "q2": {"d3": 0.7}}
    dist = score_distribution(run, qrels)
    assert dist.positives == [0.9, 0.4] and dist.negatives == [0.5, 0.6, 0.7]
    assert dist.confused == 2 and dist.positive_missing == 1


def test_sts_metrics_only_report(tmp_path):
    report = build_report(ReportInputs(title="sts", metrics={"base": {"spearman": 0.5, "pearson": 0.4},
                                                             "fine-tuned": {"spearman": 0.7, "pearson": 0.6}}))
    html = write_report(tmp_path, report).read_text()
    assert "spearman" in html and "0.7000" in html and "Per-query analysis needs" in html


def test_the_recipe_section_lists_each_choice_and_what_was_shipped():
    from densefit.report.html import recipe_section

    recipe = {"plan": {"reasons": ["mining: on, one hard negative per query", "epochs: 1.5, fits the budget"]},
              "shipped": "base", "why": "the base model: tuning did not beat it on dev",
              "dev_ndcg@10": {"base": 0.61, "tuned": 0.6, "merged": 0.605}}
    html = recipe_section({"summary": {"recipe": recipe}})
    assert html.count("<li>") == 2 and "<b>base</b>" in html and "tuned 0.6000" in html
    assert "No recipe" in recipe_section({"summary": {"config": {}}})
