"""`densefit eval --hybrid`: dense, lexical (FTS5 BM25), RRF and convex fusion on one IR set, side by side.

The convex weight, and with `auto` the mode itself, are chosen on the set's dev split (qrels/dev.tsv), never
on the split that is reported. Without a dev split the convex weight stays at 0.5 and `auto` keeps dense.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from densefit.data.beir import IRSet
from densefit.evaluation.fusion import choose_mode, convex, rrf
from densefit.evaluation.lexical import fts5_run
from densefit.evaluation.retrieval import dense_run, encode_corpus, evaluate_run
from densefit.inference.encoder import TextEncoder

DEFAULT_WEIGHT = 0.5
CHOICE_METRIC = "ndcg@10"


@dataclass
class HybridEval:
    runs: dict[str, dict]                      # dense, lexical, rrf, convex -> run on the reported split
    metrics: dict[str, dict[str, float]]       # the same names -> metrics
    weight: float
    choice: dict | None = None                 # choose_mode on dev, when there is a dev split
    notes: list[str] = field(default_factory=list)


def evaluate_hybrid(encoder: TextEncoder, target: IRSet, dev: IRSet | None, ks=(1, 3, 5, 10, 100)) -> HybridEval:
    """Every mode on `target`; the convex weight (and the auto choice) from `dev` when given."""
    notes, choice, weight = [], None, DEFAULT_WEIGHT
    corpus = encode_corpus(encoder, target)
    if dev is not None:
        dev_corpus = corpus if list(dev.corpus) == list(target.corpus) else None  # one folder: encoded once
        choice = choose_mode(dense_run(encoder, dev, corpus_emb=dev_corpus), fts5_run(dev), dev.qrels, CHOICE_METRIC)
        weight = choice["weight"]
        notes.append(f"convex weight {weight:g} (dense share) chosen on the dev split "
                     f"({len(dev.judged_queries())} queries, {CHOICE_METRIC}); auto on dev: {choice['why']}")
    else:
        notes.append(f"no dev split (qrels/dev.tsv): convex weight {DEFAULT_WEIGHT} was not tuned, and auto keeps "
                     "dense")
    dense, lexical = dense_run(encoder, target, corpus_emb=corpus), fts5_run(target)
    runs = {"dense": dense, "lexical": lexical, "rrf": rrf([dense, lexical]), "convex": convex(dense, lexical, weight)}
    metrics = {name: evaluate_run(run, target, ks).metrics for name, run in runs.items()}
    return HybridEval(runs, metrics, weight, choice, notes)
