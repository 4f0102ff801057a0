"""Hard-negative mining: the false-negative filters, with planted near-duplicates of the positive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from densefit.errors import UnknownNameError
from densefit.methods.mining import (Candidate, MiningConfig, filter_by_cross_encoder, filter_candidates,
                                     group_pairs, hnsw_topk, mine, negative_columns)

QUERY = "how do I get the status of a file"
POSITIVE = "stat returns information about a file, such as its size, owner and modification time"
NEAR_DUPLICATE = "stat returns information about a file, such as its size, owner and change time"
OTHERS = ["the kernel schedules threads on CPUs by priority", "sockets send packets over the network",
          "a signal interrupts a running process", "malloc allocates memory on the heap",
          "the clock reports the current time of day", "fstat gets file status from a descriptor",
          "printf writes formatted output to stdout", "pipes connect the output of one process to another"]


def test_rank_window_skips_the_top_candidates():
    cands = [Candidate(d, r, s) for r, (d, s) in enumerate([(5, 0.9), (6, 0.8), (7, 0.7), (8, 0.6)])]
    kept, dropped = filter_candidates(cands, positives=set(), positive_score=2.0,
                                      cfg=MiningConfig(skip_top=2, relative_margin=None))
    assert [c.doc for c in kept] == [7, 8]
    assert [(c.doc, why) for c, why in dropped] == [(5, "rank window"), (6, "rank window")]


def test_margins_drop_planted_near_duplicates_and_positives_vanish():
    # doc 1 is the positive itself, doc 2 a near-duplicate scoring above it, doc 3 just below it
    cands = [Candidate(1, 0, 0.95), Candidate(2, 1, 0.96), Candidate(3, 2, 0.93), Candidate(4, 3, 0.50)]
    absolute = MiningConfig(margin=0.05, relative_margin=None)
    kept, dropped = filter_candidates(cands, positives={1}, positive_score=0.95, cfg=absolute)
    assert [c.doc for c in kept] == [4] and [(c.doc, why) for c, why in dropped] == [(2, "margin"), (3, "margin")]
    relative = MiningConfig(margin=None, relative_margin=0.01)  # limit 0.9405: doc 3 (0.93) passes
    kept, dropped = filter_candidates(cands, positives={1}, positive_score=0.95, cfg=relative)
    assert [c.doc for c in kept] == [3, 4] and [c.doc for c, _ in dropped] == [2]


def test_cross_encoder_filter_uses_the_positive_score():
    kept = [Candidate(1, 0, 0.5, ce_score=4.0), Candidate(2, 1, 0.4, ce_score=-3.0), Candidate(3, 2, 0.3, 2.9)]
    survivors, dropped = filter_by_cross_encoder(kept, positive_ce=3.0, cfg=MiningConfig(ce_margin=0.0))
    assert [c.doc for c in survivors] == [2, 3] and [(c.doc, why) for c, why in dropped] == [(1, "cross-encoder")]


def test_hnsw_finds_the_same_nearest_neighbours_as_exact_search():
    from densefit.evaluation.search import exact_topk

    rng = np.random.default_rng(0)
    docs = rng.normal(size=(2000, 32)).astype(np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    queries = docs[:50] + 0.05 * rng.normal(size=(50, 32)).astype(np.float32)
    approx, _ = hnsw_topk(queries, docs, 5)
    exact, _ = exact_topk(queries, docs, 5)
    assert (approx[:, 0] == exact[:, 0]).mean() >= 0.95


@pytest.mark.parametrize("docs,queries,expected", [
    (100_000, 500, "exact"),        # bench/mining.py: exact 0.44 s, building the graph 31 s
    (100_000, 50_000, "hnsw"),
    (10_000, 50_000, "exact"),
])
def test_auto_index_builds_a_graph_only_when_exact_search_would_cost_more(docs, queries, expected):
    from densefit.methods.mining import resolve_index

    assert resolve_index("auto", docs, queries) == expected
    assert resolve_index("hnsw", 10, 1) == "hnsw" and resolve_index("exact", 10**7, 10**6) == "exact"


def test_unknown_index_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="exact, hnsw"):
        MiningConfig(index="ivf")


def test_columns_align_every_row_with_its_queries_negatives():
    queries, positives = group_pairs(["a", "b", "a"], ["p1", "p2", "p3"])
    assert queries == ["a", "b"] and positives == [["p1", "p3"], ["p2"]]
    cols = negative_columns(["a", "b", "a"], queries, [["n1", "n2"], ["m1", "m2"]])
    assert cols == {"negative": ["n1", "m1", "n1"], "negative_2": ["n2", "m2", "n2"]}


@pytest.mark.slow
def test_real_model_drops_a_planted_near_duplicate_and_writes_it_for_review(tmp_path):
    from densefit.api import load

    encoder = load("default")
    corpus = [POSITIVE, NEAR_DUPLICATE, *OTHERS]
    review = tmp_path / "review.jsonl"
    cfg = MiningConfig(negatives=2, relative_margin=0.05, review=str(review))
    result = mine(encoder, [QUERY], [[POSITIVE]], corpus, cfg)
    negatives = [corpus[d] for d in result.negatives[0]]
    assert POSITIVE not in negatives and NEAR_DUPLICATE not in negatives and len(negatives) == 2
    assert result.stats["suspected_false_negatives"] >= 1
    from densefit.methods.mining import report

    report(result, str(review))
    rows = [json.loads(line) for line in review.read_text().splitlines()]
    planted = [r for r in rows if r["candidate"] == NEAR_DUPLICATE]
    assert planted and planted[0]["reason"] == "margin" and planted[0]["score"] >= 0.95 * planted[0]["positive_score"]
    # without the margin, the near-duplicate is among the hardest "negatives": the filter is what removed it
    plain = mine(encoder, [QUERY], [[POSITIVE]], corpus, MiningConfig(negatives=2, relative_margin=None))
    assert NEAR_DUPLICATE in [corpus[d] for d in plain.negatives[0]] and not plain.dropped
