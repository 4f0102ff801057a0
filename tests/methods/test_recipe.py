"""The recipe behind --method auto on pairs: the planner as a table, mining by default, never worse than base."""

from __future__ import annotations

import json
import random

import pytest

from densefit.api import fit
from densefit.methods.recipe import (DEFAULT_BUDGET, LEARNING_RATE, MAX_EPOCHS, RecipeFacts, carve_dev,
                                     choose_shipped, cut_query, dev_candidates, plan, plain_epoch_cost)

from ..conftest import make_ir_set, write_jsonl

NOTHING_GIVEN = {"epochs": None, "learning_rate": None, "batch_size": None, "mine": None, "dev_queries": None}


def facts(**kw) -> RecipeFacts:
    base = dict(rows=2000, queries=2000, query_tokens=10, doc_tokens=200, corpus_docs=2000, max_seq_length=256)
    return RecipeFacts(**{**base, **kw})


# facts                                               given                     epochs  mine   dev
TABLE = [
    (facts(),                                            {},                       3.0,    False, 200),
    (facts(rows=600, queries=600, corpus_docs=1000),     {},                       2.5,    False, 60),
    (facts(doc_tokens=40, query_tokens=40),              {},                       3.0,    False, 200),
    (facts(rows=100, queries=100, corpus_docs=300),      {},                       3.0,    False, 0),
    (facts(),                                            {"mine": True},           1.0,    True,  200),
    (facts(),                                            {"epochs": 2.0},          2.0,    False, 200),
    (facts(),                                            {"dev_queries": 0},       3.0,    False, 0),
    (facts(dev_given=True),                              {},                       2.5,    False, 0),
    (facts(budget_s=3600, forward_tokens_per_s=5e4),     {},                       3.0,    True,  200),
]


@pytest.mark.parametrize("f, given, epochs, mine, dev", TABLE)
def test_plan_table(f, given, epochs, mine, dev):
    p = plan(f, {**NOTHING_GIVEN, **given})
    assert (p.epochs, p.mine, p.dev_queries) == (epochs, mine, dev)
    assert p.learning_rate == LEARNING_RATE and p.batch_size == 32
    assert len(p.reasons) >= 5 and all(isinstance(r, str) and r for r in p.reasons)
    if not given and f.budget_s is None:  # the plan fits its default budget
        assert sum(p.cost.values()) <= p.budget == pytest.approx(DEFAULT_BUDGET * plain_epoch_cost(f))


def test_a_time_budget_scales_the_epochs_and_caps_them():
    rate = 50_000.0  # forward tokens per second, as measured on the machine
    small, large = (plan(facts(budget_s=s, forward_tokens_per_s=rate), NOTHING_GIVEN) for s in (60, 3600))
    assert small.epochs < large.epochs == MAX_EPOCHS
    assert "budget 60s" in small.reasons[0] and sum(small.cost.values()) <= small.budget


def test_a_budget_under_one_epoch_trains_on_part_of_the_pairs_and_still_fits():
    p = plan(facts(budget_s=60, forward_tokens_per_s=20_000.0), NOTHING_GIVEN)
    assert p.epochs == 0.7 and not p.mine  # 0.79 epochs fit: tenths, not the half-epoch floor
    assert sum(p.cost.values()) <= p.budget


def test_values_the_user_gave_win_and_are_named_as_requested():
    p = plan(facts(), {**NOTHING_GIVEN, "learning_rate": 3e-5, "batch_size": 16, "mine": True, "epochs": 2.0})
    assert (p.learning_rate, p.batch_size, p.mine, p.epochs) == (3e-5, 16, True, 2.0)
    assert sum("as requested" in r for r in p.reasons) == 3


def test_carved_dev_never_shares_a_query_or_document_with_training():
    rng = random.Random(0)
    docs = [f"doc {i} " + " ".join(rng.choice("abcdefgh") for _ in range(5)) for i in range(300)]
    columns = {"anchor": [f"query {i // 2}" for i in range(300)], "positive": docs}
    train, dev = carve_dev(columns, 20, pool=docs + ["extra doc"], seed=0)
    dev_queries, dev_docs = set(dev.queries.values()), {dev.corpus[d] for r in dev.qrels.values() for d in r}
    assert len(dev_queries) == 20 and len(train["anchor"]) == 300 - 40
    assert not dev_queries & set(train["anchor"]) and not dev_docs & set(train["positive"])
    assert all(len(rel) == 2 for rel in dev.qrels.values())


def test_a_query_copied_from_its_document_is_cut_out_of_it_whatever_its_case_and_spacing():
    doc = "Intro. The Quick  brown\nfox jumps over. Then the quick brown fox sleeps."
    assert cut_query(doc, "the quick brown fox") == "Intro. jumps over. Then sleeps."
    assert cut_query(doc, "quick brown") == doc  # two words: a shared keyword pair, not a copy
    assert cut_query("a therapist said so", "the rapist said") == "a therapist said so"  # whole words only


def test_dev_takes_no_query_that_is_only_a_copy_of_its_document():
    copies = {"anchor": ["how are you today", "what is a bot", "pick a file to open"],
              "positive": ["How are you today?", "What is a bot? A program that chats with people all day.",
                           "Use the dialog to choose one."]}
    # the first leaves nothing once cut; the second keeps an answer; the third is no copy at all
    assert dev_candidates(copies) == ["pick a file to open", "what is a bot"]


def test_carved_dev_documents_no_longer_hold_their_query():
    rng = random.Random(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    queries = [" ".join(rng.sample(words, 4)) + f" n{i}" for i in range(300)]
    copied = [f"{q}. " + " ".join(rng.choice(words) for _ in range(8)) for q in queries[:200]]
    bare = [q for q in queries[200:]]  # these documents are their query and nothing else
    columns = {"anchor": queries, "positive": copied + bare}
    train, dev = carve_dev(columns, 50, pool=columns["positive"], seed=0)
    assert len(dev.queries) == 50 and set(dev.queries.values()) <= set(queries[:200])
    for qid, rel in dev.qrels.items():
        (doc,) = rel
        assert dev.queries[qid].lower() not in dev.corpus[doc].lower() and len(dev.corpus[doc].split()) == 8
    assert set(bare) <= set(train["anchor"])  # unfit for dev, still trained on


def test_when_too_few_queries_are_fit_for_dev_the_split_uses_them_all_and_says_so(capsys):
    queries = [f"copied query number {i}" for i in range(100)]
    columns = {"anchor": queries, "positive": [q + "." for q in queries]}
    train, dev = carve_dev(columns, 30, pool=columns["positive"], seed=0)
    assert len(dev.queries) == 30 and "may overrate" in capsys.readouterr().err
    assert all(text.endswith(".") and len(text.split()) == 4 for text in dev.corpus.values())  # left whole


def test_shipping_prefers_the_simplest_model_on_ties():
    assert choose_shipped({"base": 0.5, "tuned": 0.5}) == "base"
    assert choose_shipped({"base": 0.5, "merged": 0.6, "tuned": 0.6}) == "merged"
    assert choose_shipped({"base": 0.5, "tuned": 0.51}) == "tuned"


def test_confident_shipping_needs_a_dev_gain_whose_ci_is_above_zero():
    scores = {"base": 0.80, "merged": 0.81, "tuned": 0.82}
    assert choose_shipped(scores, {"tuned": (-0.001, 0.04), "merged": (-0.01, 0.03)}) == "base"
    assert choose_shipped(scores, {"tuned": (-0.001, 0.04), "merged": (0.002, 0.02)}) == "merged"
    assert choose_shipped(scores, {"tuned": (0.01, 0.03), "merged": (0.002, 0.02)}) == "tuned"


@pytest.fixture
def pairs_and_corpus(tmp_path):
    ir = make_ir_set(tmp_path / "ir", n_docs=900, n_queries=800)  # 400 training pairs: above AugSBERT's 300
    from densefit.data.beir import load_beir

    train = load_beir(ir, "train")
    rows = [{"anchor": train.queries[q], "positive": train.corpus[d]} for q in train.qrels for d in train.qrels[q]]
    return write_jsonl(tmp_path / "pairs.jsonl", rows), ir


def test_auto_on_pairs_mines_when_the_budget_allows_and_no_mine_turns_it_off(tiny_model, pairs_and_corpus, tmp_path):
    pairs, ir = pairs_and_corpus
    on = json.loads(fit(tiny_model, pairs, corpus=str(ir), out=tmp_path / "on", budget="2h",
                        report=False).train_json.read_text())
    assert on["recipe"]["plan"]["mine"] is True and on["data"]["mined"]["queries"] > 0
    assert [s["name"] for s in on["method"]["stages"]] == ["load", "mine", "train", "ship"]
    default = json.loads(fit(tiny_model, pairs, corpus=str(ir), out=tmp_path / "default", epochs=0.5,
                             report=False).train_json.read_text())
    assert default["recipe"]["plan"]["mine"] is False and "mined" not in default["data"]
    assert any(r.startswith("mining: off") and "leaves room for" in r for r in default["recipe"]["plan"]["reasons"])
    off = json.loads(fit(tiny_model, pairs, corpus=str(ir), out=tmp_path / "off", budget="2h", mine=False,
                         report=False).train_json.read_text())
    assert off["recipe"]["plan"]["mine"] is False and "mined" not in off["data"]
    assert "mining: off (as requested)" in off["recipe"]["plan"]["reasons"]


def test_a_run_that_cannot_improve_ships_the_base_model_and_says_so(tiny_model, pairs_and_corpus, tmp_path, capsys):
    import torch
    from safetensors.torch import load_file

    pairs, ir = pairs_and_corpus
    result = fit(tiny_model, pairs, corpus=str(ir), out=tmp_path / "run", learning_rate=1e-30, precision="fp32",
                 report=False)
    recipe = json.loads(result.train_json.read_text())["recipe"]
    assert recipe["shipped"] == "base" and "did not beat it" in recipe["why"]
    said = " ".join(capsys.readouterr().err.split())  # densefit says things on stderr
    assert "shipping the base model: tuning did not beat it" in said, repr(said[-400:])
    scores = recipe["dev_ndcg@10"]
    assert scores["tuned"] <= scores["base"] and "merged" in scores
    from pathlib import Path

    shipped = load_file(str(next(result.model_path.rglob("model.safetensors"))))
    base = load_file(str(next(Path(tiny_model).rglob("model.safetensors"))))
    assert shipped.keys() == base.keys() and all(torch.equal(shipped[k], base[k]) for k in base)


def test_confident_shipping_scores_the_gain_per_dev_query_and_records_its_ci(tiny_model, pairs_and_corpus, tmp_path,
                                                                             capsys):
    pairs, ir = pairs_and_corpus
    result = fit(tiny_model, pairs, corpus=str(ir), out=tmp_path / "run", learning_rate=1e-30, precision="fp32",
                 ship="confident", report=False)
    recipe = json.loads(result.train_json.read_text())["recipe"]
    low, high = recipe["dev_gain_ci"]["tuned"]
    gain = recipe["dev_ndcg@10"]["tuned"] - recipe["dev_ndcg@10"]["base"]
    assert low <= gain <= high and low <= 0 and recipe["shipped"] == "base"  # a learning rate of 1e-30 learns nothing
    assert "not above zero with 95% confidence" in " ".join(capsys.readouterr().err.split())


def test_the_budget_rate_is_timed_on_training_steps_and_leaves_the_model_as_it_was(tiny_model):
    from densefit.methods.recipe import measure_forward_rate
    from densefit.models import load_model

    model = load_model(tiny_model)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    columns = {"anchor": [f"query {i}" for i in range(40)], "positive": [f"document text {i} " * 5 for i in range(40)]}
    rate = measure_forward_rate(model, columns, 8, "fp32", tokens_per_row=12.0)
    assert rate > 0
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert all((before[k] == v).all() for k, v in model.state_dict().items())  # timed, never stepped
